"""The web app: the pages a confirmation link opens, and nothing else.

    GET/HEAD /t/{token}   what is asked, with the buttons (reads only; scanners change nothing)
    POST     /t/{token}   the button: fires the trigger through `links.answer` (one transaction)
    GET/HEAD /mandate/{kind}   the reference group's mandate for a kind of service (no token)
    GET/HEAD /healthz     for the reverse proxy and monitoring ("ok" when the database is)
    GET/HEAD /            a line saying what this is;  /favicon.ico  204, so no 404 each visit

Thin over `appointer.links`: it parses the request, calls the domain in one transaction,
and renders. Every failure is a page in the reader's language, never a stack trace. Links in
pages and redirects come from `settings.base_url`, never from the request's Host header; the
client address is the socket peer's unless it is a trusted proxy (`web/origin.py`).
"""

from __future__ import annotations

from fastapi import FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from appointer import links
from appointer.clock import Clock
from appointer.db import transaction
from appointer.errors import Conflict
from appointer.settings import Settings
from appointer.web import pages, texts
from appointer.web.origin import Origin
from appointer.web.security import SecurityHeaders, install_log_redaction

STATUS = {"unknown": 404, "used": 410, "closed": 410, "expired": 410, "wrong_trigger": 400,
          "other_case": 400, "try_again": 409, "not_found": 404, "bad_request": 400, "error": 500}
MAX_COMMENT = 1000
MAX_USER_AGENT = 300


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    """The app for `settings`. `app.state.clock` is the one clock (tests may replace it)."""
    install_log_redaction()
    app = FastAPI(title="Appointer", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.clock = clock or Clock()
    app.router.redirect_slashes = False  # Origin redirects, from the base URL only
    app.add_middleware(Origin, base_url=settings.base_url,
                       trusted_proxies=settings.trusted_proxies)
    app.add_middleware(SecurityHeaders, on_error=lambda scope: problem("error", Request(scope)))

    def lang_of(request: Request, fallback: str | None = None) -> str:
        return texts.negotiate(request.query_params.get("lang"),
                               request.headers.get("accept-language"),
                               fallback or settings.lang)

    def page(name: str, lang: str, status: int = 200, headers: dict | None = None,
             **context) -> HTMLResponse:
        html = pages.render(name, lang, **context)
        out = {"vary": "Accept-Language", "content-language": lang, **(headers or {})}
        return HTMLResponse(html, status_code=status, headers=out)

    def link_context(view: links.LinkView, lang: str) -> dict:
        name = view.service_name_en if lang == "en" and view.service_name_en else view.service_name
        base = settings.base_url.rstrip("/")
        return {"link": view, "service_name": name, "contacts": view.contacts,
                "mandate_url": f"{base}/mandate/{view.service_kind}?lang={lang}",
                "expires_on": pages.format_date(view.expires_at, lang)}

    def problem(reason: str, request: Request, refused: links.LinkRefused | None = None,
                contacts=None) -> HTMLResponse:
        view = refused.link if refused is not None else None
        lang = lang_of(request, view.lang if view else None)
        answered = refused.answered if refused is not None and reason == "used" else None
        if view is not None:
            contacts = view.contacts
        return page("problem.html", lang, STATUS[reason], reason=reason, contacts=contacts,
                    contact_intro="contact.lead" if view is not None else "contact.unknown",
                    expires_on=pages.format_date(view.expires_at, lang) if view else "",
                    answered=answered,
                    answered_on=pages.format_date(answered.at, lang) if answered else "")

    def refused_page(request: Request, refused: links.LinkRefused) -> HTMLResponse:
        contacts = None
        if refused.link is None:
            with transaction(settings, app.state.clock, write=False) as tx:
                contacts = links.public_contacts(tx.session)
        return problem(refused.reason, request, refused, contacts=contacts)

    @app.api_route("/t/{token:path}", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def show_link(token: str, request: Request):
        try:
            with transaction(settings, app.state.clock, write=False) as tx:
                view = links.open_link(tx, token)
        except links.LinkRefused as refused:
            return refused_page(request, refused)
        lang = lang_of(request, view.lang)
        return page("link.html", lang, **link_context(view, lang))

    @app.post("/t/{token:path}", response_class=HTMLResponse)
    def answer_link(token: str, request: Request, trigger: str = Form(""), case: str = Form(""),
                    comment: str = Form("")):
        evidence = {
            "via": "link",
            "ip": request.client.host if request.client else None,
            "user_agent": (request.headers.get("user-agent") or "")[:MAX_USER_AGENT],
        }
        try:
            with transaction(settings, app.state.clock) as tx:
                view, fired = links.answer(tx, token, trigger, case, evidence,
                                           comment=comment[:MAX_COMMENT])
        except links.LinkRefused as refused:
            return refused_page(request, refused)
        except Conflict:
            return _after_conflict(token, request)
        lang = lang_of(request, view.lang)
        key, values = _next_step(view, fired.to_state)
        return page("done.html", lang, trigger=fired.trigger,
                    next_step=texts.text(lang, key, **values), **link_context(view, lang))

    def _after_conflict(token: str, request: Request) -> HTMLResponse:
        """Another request answered first (a double click, two tabs): say what happened."""
        try:
            with transaction(settings, app.state.clock) as tx:
                links.open_link(tx, token)
        except links.LinkRefused as refused:
            return refused_page(request, refused)
        except Conflict:
            pass
        return problem("try_again", request)

    @app.api_route("/mandate/{kind}", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def show_mandate(kind: str, request: Request):
        data = pages.mandate()
        if kind not in data["kinds"]:
            return problem("not_found", request)
        lang = lang_of(request)
        by_key = {s["key"]: s for s in data[lang]["sections"]}
        return page("mandate.html", lang, headers={"cache-control": "public, max-age=3600"},
                    kind=kind, purpose=data[lang]["purpose"], source_url=data["source_url"],
                    sections=[by_key[k] for k in data["kinds"][kind]])

    @app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def index(request: Request):
        return page("index.html", lang_of(request))

    @app.api_route("/favicon.ico", methods=["GET", "HEAD"])
    def favicon():
        """Browsers ask for it on every visit; no icon, and no 404 in the log each time."""
        return Response(status_code=204, headers={"cache-control": "public, max-age=86400"})

    @app.api_route("/healthz", methods=["GET", "HEAD"], response_class=PlainTextResponse)
    def healthz():
        with transaction(settings, app.state.clock, write=False):
            pass
        return "ok"

    from appointer.web import report_pages  # the annual report's pages: /r/{token}

    report_pages.install(app, settings, page, lang_of, refused_page)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return problem("not_found" if exc.status_code in (404, 405) else "bad_request", request)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        return problem("bad_request", request)

    return app


def _next_step(view: links.LinkView, state: str) -> tuple[str, dict]:
    key = f"next.{state}"
    if key not in texts.TEXTS[texts.DEFAULT]:
        key = "next.other"
    return key, {"leader": view.leader_name or "", "region": view.region_name}
