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
from appointer.web import pages

MAX_TEXT = 20_000

TEXTS = {
    "nb": {
        "part.service": "Tjenestens del", "part.group": "Referansegruppens del",
        "part.region": "Delen for {region}",
        "title.author": "Årsrapport {year}: {part}", "title.choose": "Årsrapport {year}: dine deler",
        "title.member": "Årsrapport {year}: godkjenning", "title.submitter": "Årsrapport {year}: innsending",
        "intro.service": "{service}. Du skriver tjenestens del av årsrapporten. Frist {due}.",
        "intro.region": "{service}. Du skriver en kort del om hvordan tjenesten fungerer i og "
                        "for {region}. Frist {due}.",
        "intro.group": "{service}. Du skriver referansegruppens del og koordinerer gruppens "
                       "tilbakemelding. Frist {due}. Når du markerer delen som ferdig, blir "
                       "medlemmene bedt om å godkjenne rapporten.",
        "choose": "Du skriver disse delene av rapporten:",
        "state.invited": "ikke påbegynt", "state.draft": "utkast", "state.done": "ferdig",
        "state.delivered_elsewhere": "levert utenfor Appointer",
        "text.label": "Din tekst", "save": "Lagre utkast", "done": "Lagre og marker som ferdig",
        "saved": "Lagret som versjon {n}.", "unchanged": "Ingen endringer å lagre.",
        "marked_done": "Delen er markert som ferdig. Takk!",
        "is_done": "Delen er ferdig og kan ikke endres lenger.",
        "conflict": "Teksten ble endret i mellomtiden (versjon {n}, {when}). Her er den nyere "
                    "teksten; teksten din er ikke lagret, men står under, så du kan flette den "
                    "inn og lagre på nytt.",
        "yours": "Din tekst (ikke lagret)",
        "regional": "De regionale delene", "no_text": "(ingen tekst ennå)", "nobody": "ikke oppnevnt",
        "approve.intro": "{service}. Referansegruppens del er ferdig. Les rapporten og godkjenn "
                         "den, eller skriv en kommentar.",
        "comment.label": "Kommentar (valgfri ved godkjenning)", "approve": "Godkjenn rapporten",
        "comment": "Send kommentar", "approved_by_you": "Du har godkjent rapporten.",
        "commented": "Kommentaren er registrert.",
        "answers": "Medlemmenes svar", "answer.approve": "godkjent", "answer.comment": "kommentar",
        "answer.none": "ikke svart",
        "close.legend": "Som gruppeleder: avslutt godkjenningen", "close": "Referansegruppen godkjenner rapporten",
        "closed": "Godkjenningen er avsluttet. Innsenderen er varslet.",
        "submit.intro": "{service}. Rapporten er godkjent av referansegruppen {on}. Du er utpekt "
                        "til å sende den inn. Frist {due}.",
        "submit.missing": "Disse regionale delene mangler. Kryss av for å sende uten dem, og "
                          "skriv hvorfor:",
        "reason.label": "Hvorfor rapporten sendes uten", "submit": "Send inn rapporten",
        "submitted": "Rapporten er sendt inn {on}. Takk!",
        "not_open": "Siden er ikke åpen for endringer nå: rapporten er {state}.",
        "refused": "Ikke lagret", "forbidden": "Dette kan du ikke gjøre her",
        "report.state.writing": "under arbeid", "report.state.approval": "til godkjenning",
        "report.state.approved": "godkjent", "report.state.submitted": "sendt inn",
        "report.state.assessed": "vurdert", "report.state.assessed_nationally": "vurdert nasjonalt",
        "report.state.closed": "avsluttet",
    },
    "en": {
        "part.service": "The service's part", "part.group": "The reference group's part",
        "part.region": "The part for {region}",
        "title.author": "Annual report {year}: {part}", "title.choose": "Annual report {year}: your parts",
        "title.member": "Annual report {year}: approval", "title.submitter": "Annual report {year}: submission",
        "intro.service": "{service}. You write the service's part of the annual report. Due {due}.",
        "intro.region": "{service}. You write a short part on how the service works in and for "
                        "{region}. Due {due}.",
        "intro.group": "{service}. You write the reference group's part and coordinate the "
                       "group's feedback. Due {due}. When you mark it done, the members are "
                       "asked to approve the report.",
        "choose": "You write these parts of the report:",
        "state.invited": "not started", "state.draft": "draft", "state.done": "done",
        "state.delivered_elsewhere": "delivered outside Appointer",
        "text.label": "Your text", "save": "Save draft", "done": "Save and mark done",
        "saved": "Saved as version {n}.", "unchanged": "Nothing changed to save.",
        "marked_done": "The part is marked done. Thank you!",
        "is_done": "The part is done and can no longer change.",
        "conflict": "The text was changed meanwhile (version {n}, {when}). Here is the newer "
                    "text; yours is not saved, but it is below, so you can merge it in and save "
                    "again.",
        "yours": "Your text (not saved)",
        "regional": "The regional parts", "no_text": "(no text yet)", "nobody": "not appointed",
        "approve.intro": "{service}. The reference group's part is done. Read the report and "
                         "approve it, or write a comment.",
        "comment.label": "Comment (optional when approving)", "approve": "Approve the report",
        "comment": "Send comment", "approved_by_you": "You have approved the report.",
        "commented": "Your comment is registered.",
        "answers": "The members' answers", "answer.approve": "approved",
        "answer.comment": "comment", "answer.none": "no answer",
        "close.legend": "As group leader: close the approval",
        "close": "The reference group approves the report",
        "closed": "The approval is closed. The submitter has been told.",
        "submit.intro": "{service}. The reference group approved the report on {on}. You are "
                        "named to submit it. Due {due}.",
        "submit.missing": "These regional parts are missing. Tick to submit without them, and "
                          "say why:",
        "reason.label": "Why the report goes without them", "submit": "Submit the report",
        "submitted": "The report was submitted on {on}. Thank you!",
        "not_open": "This page takes no changes now: the report is {state}.",
        "refused": "Not saved", "forbidden": "You cannot do this here",
        "report.state.writing": "being written", "report.state.approval": "awaiting approval",
        "report.state.approved": "approved", "report.state.submitted": "submitted",
        "report.state.assessed": "assessed", "report.state.assessed_nationally": "assessed nationally",
        "report.state.closed": "closed",
    },
}


def rt(lang: str, key: str, **values) -> str:
    pattern = TEXTS.get(lang, TEXTS["nb"]).get(key) or TEXTS["nb"].get(key) or key
    return pattern.format(**values) if values else pattern


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

