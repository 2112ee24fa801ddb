"""The annual report's link pages (`/r/{token}`, see `appointer.report_links`):

    GET/HEAD /r/{token}   the person's page: their part(s) (author), the report to approve
                          (member), or the approved report to submit (submitter). Reads only.
    POST     /r/{token}   save a draft / mark done (author), approve / comment / close the
                          approval (member; closing is the group leader's), submit (submitter)

Each POST runs in one transaction that takes the database's write lock first, so two saves of
one part are checked one after the other: the second, written over an older version, stores
nothing and shows "changed meanwhile" with the newer text (and keeps the writer's own text on
the page). Refusals are pages with 4xx, nothing stored.
"""

from __future__ import annotations

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse

from appointer import links, report_links
from appointer.db import transaction
from appointer.errors import Conflict, Forbidden, InvalidInput, NotAllowed, NotFound
from appointer.web import pages, texts

MAX_TEXT = 20_000


def rt(lang: str, key: str, **values) -> str:
    """A report page's words (`report.<key>` of the pages' catalogue, appointer/web/texts.py)."""
    return texts.text(lang, "report." + key, **values)


def install(app: FastAPI, settings, page, lang_of, refused_page) -> None:
    """Add the report pages to the link app (`page`, `lang_of` and `refused_page` are the
    app's own helpers: one look, one language rule, one way of refusing a link)."""

    def view(tx, link, lang: str, **extra) -> dict:
        """Everything the page shows, read in the request's transaction."""
        from appointer import lookups, report_parts, report_views, reports
        from appointer.models import Service

        session = tx.session
        report = reports.get_report(session, link.report_id)
        service = session.get(Service, report.service_id)
        d = reports.deadlines(tx.settings, report.year)
        fmt = lambda day: pages.format_date(day, lang)  # noqa: E731

        def region_name(code: str) -> str | None:
            return lookups.region(session, code[7:]).name if code.startswith("region:") else None

        def label(code: str) -> str:
            name = region_name(code)
            return rt(lang, "part.region", region=name) if name else rt(lang, f"part.{code}")

        parts = []
        for p in reports.parts_of(session, report.id):
            current = report_parts.version(session, p.current_version_id)
            parts.append({"part": p.part, "label": label(p.part), "state": p.state,
                          "region": region_name(p.part),
                          "author": p.author_name, "text": current.text if current else "",
                          "version": current.id if current else None,
                          "number": current.number if current else 0,
                          "due": fmt(reports.part_deadline(tx.settings, report.year, p.part))})
        out = {"report": report, "service_name": service.name_en if lang == "en" and
               service.name_en else service.name, "parts": parts,
               "mine": [p for p in parts if p["part"] in link.items],
               "link": link, "due": {k: fmt(v) for k, v in d.items()},
               "rt": lambda key, **v: rt(lang, key, **v), "fmt": fmt, "notice": None,
               "warn": None, "conflict": None, "yours": None, "selected": None}
        if link.page == "member":
            out["document"] = report_views.document(tx, report.id)
            answers = reports.approvals(session, report.id)
            out["answers"] = [{"name": m.candidate_name, "answer": answers.get(
                m.candidate_email, {}).get("decision")} for m in
                lookups.appointed_members(session, report.service_id)]
            group = reports.part_row(session, report.id, "group")
            out["is_leader"] = group is not None and group.author_email == link.email
            out["my_answer"] = answers.get(link.email, {}).get("decision")
        out.update(extra)
        return out

    def render(view_data: dict, lang: str, status: int = 200) -> HTMLResponse:
        link = view_data["link"]
        name = {"author": "report_part.html", "member": "report_approve.html",
                "submitter": "report_submit.html"}[link.page]
        return page(name, lang, status, **view_data)

    def selected(view_data: dict, wanted: str | None) -> dict:
        mine = view_data["mine"]
        if wanted:
            view_data["selected"] = next((p for p in mine if p["part"] == wanted), None)
        elif len(mine) == 1:
            view_data["selected"] = mine[0]
        return view_data

    @app.api_route("/r/{token}", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def show_report_link(token: str, request: Request, part: str | None = None):
        try:
            with transaction(settings, app.state.clock) as tx:
                link = report_links.resolve(tx, token)
                lang = lang_of(request, report_links.lang(tx, link))
                data = selected(view(tx, link, lang), part)
        except links.LinkRefused as refused:
            return refused_page(request, refused)
        return render(data, lang)

    @app.post("/r/{token}", response_class=HTMLResponse)
    def act_on_report_link(token: str, request: Request, action: str = Form(""),
                           part: str = Form(""), base: str = Form(""), text: str = Form(""),
                           comment: str = Form(""), reason: str = Form(""),
                           without: list[str] = Form([])):  # noqa: B008
        from appointer import report_parts, report_steps

        evidence = {"via": "link", "ip": request.client.host if request.client else None,
                    "user_agent": (request.headers.get("user-agent") or "")[:300]}
        lang = lang_of(request, None)
        form = {"text": text[:MAX_TEXT], "part": part}
        try:
            with transaction(settings, app.state.clock, exclusive=True) as tx:
                link = report_links.resolve(tx, token)
                lang = lang_of(request, report_links.lang(tx, link))
                actor = report_links.actor(link, evidence)
                status, extra = 200, {}
                if link.page == "author":
                    if part not in link.items:
                        raise Forbidden("not your part")
                    base_id = int(base) if base.strip().isdigit() else None
                    if action not in ("save", "done"):
                        raise InvalidInput("unknown action")
                    saved = report_parts.save(tx, link.report_id, part, form["text"], actor,
                                              base_id, done=action == "done")
                    if saved.conflict is not None:
                        status = 409
                        extra = {"conflict": {"n": saved.conflict.number,
                                              "when": pages.format_date(saved.conflict.created_at,
                                                                        lang)},
                                 "yours": form["text"]}
                    elif action == "done":
                        extra = {"notice": rt(lang, "marked_done")}
                    elif saved.version is not None:
                        extra = {"notice": rt(lang, "saved", n=saved.version.number)}
                    else:
                        extra = {"notice": rt(lang, "unchanged")}
                elif link.page == "member":
                    if action not in ("close", "approve", "comment"):
                        raise InvalidInput("unknown action")
                    if action == "close":
                        report_steps.approve(tx, link.report_id, actor, tx.clock.today(),
                                        comment.strip() or None)
                        extra = {"notice": rt(lang, "closed")}
                    else:
                        report_parts.answer(tx, link.report_id, actor,
                                            "approve" if action == "approve" else "comment",
                                            comment[:2000])
                        extra = {"notice": rt(lang, "approved_by_you" if action == "approve"
                                              else "commented")}
                elif link.page == "submitter":
                    if action != "submit":
                        raise InvalidInput("unknown action")
                    report_steps.submit(tx, link.report_id, actor, {p: reason for p in without})
                    extra = {"notice": rt(lang, "submitted", on=pages.format_date(
                        tx.clock.today(), lang))}
                data = selected(view(tx, link, lang, **extra), part or None)
        except links.LinkRefused as refused:
            return refused_page(request, refused)
        except Forbidden:
            return _refusal(request, token, lang, "forbidden", 403, part)
        except (InvalidInput, NotAllowed, NotFound) as exc:
            return _refusal(request, token, lang, str(exc), 400, part, form)
        except Conflict:
            return _refusal(request, token, lang, "conflict", 409, part, form)
        return render(data, lang, status)

    def _refusal(request, token, lang, message, status, part, form=None) -> HTMLResponse:
        """The page again, as it stands, saying why nothing was stored (the writer's text
        kept on the page)."""
        try:
            with transaction(settings, app.state.clock) as tx:
                link = report_links.resolve(tx, token)
                warn = rt(lang, "forbidden") if message == "forbidden" else message
                data = selected(view(tx, link, lang, warn=warn,
                                     yours=(form or {}).get("text") or None), part or None)
        except links.LinkRefused as refused:
            return refused_page(request, refused)
        return render(data, lang, status)

