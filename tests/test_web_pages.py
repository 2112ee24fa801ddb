"""The link pages as a reader and an operator see them: security headers, language, the
mandate pages, friendly errors, links from the configured base URL, tokens kept out of logs,
and `appointer serve` itself."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import queue
import re
import subprocess
import sys
import threading

import dbsql
import httpx
import pytest
from sqlmodel import select
from weblive import LiveServer, links_to, propose

from appointer.db import transaction
from appointer.models import AuditEvent
from appointer.web import create_app
from appointer.web.texts import TEXTS, negotiate

CANDIDATE = "frida.solheim@helse-bergen.example"


@pytest.fixture
def raw(initialised, clock):
    propose(initialised, clock)
    return links_to(initialised, CANDIDATE)[-1]


def _inline_style_allowed(response: httpx.Response) -> bool:
    style = re.search(r"<style>(.*?)</style>", response.text, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return f"style-src 'sha256-{digest}'" in response.headers["content-security-policy"]


def test_every_page_sends_the_security_headers(initialised, raw, web_client):
    """No page leaks the token by Referer, is framed, sniffed, cached, or runs anything but our
    one stylesheet (allowed by its hash), whatever the page is."""
    responses = {
        "link": web_client.get(f"/t/{raw}"),
        "unknown": web_client.get("/t/nothing-here-at-all-xyz"),
        "mandate": web_client.get("/mandate/national"),
        "not found": web_client.get("/wp-admin"),
        "wrong trigger": web_client.post(f"/t/{raw}", data={"trigger": "appoint", "case": "1"}),
        "answered": web_client.post(f"/t/{raw}", data={"trigger": "accept", "case": "1"}),
    }
    for what, r in responses.items():
        h = r.headers
        assert h["referrer-policy"] == "no-referrer", what
        assert h["x-content-type-options"] == "nosniff", what
        assert h["x-frame-options"] == "DENY", what
        csp = h["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, what
        assert "script-src" not in csp and "unsafe-inline" not in csp, what
        assert _inline_style_allowed(r), what
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in r.text
        if what != "mandate":
            assert h["cache-control"] == "no-store", what
    assert responses["answered"].status_code == 200


def test_links_come_from_the_base_url_not_the_host_header(raw, web_client):
    """A forged Host or X-Forwarded-Host header never ends up in a link on the page."""
    r = web_client.get(f"/t/{raw}", headers={"host": "evil.example", "x-forwarded-host": "evil.example"})
    assert r.status_code == 200
    assert "evil.example" not in r.text
    assert 'href="https://appointer.example.no/mandate/national?lang=nb"' in r.text


def test_language_by_query_or_browser(raw, web_client):
    """Norwegian bokmål by default; English by ?lang=en or the browser's language."""
    assert "Vil du være medlem av referansegruppen?" in web_client.get(f"/t/{raw}").text
    en = web_client.get(f"/t/{raw}?lang=en").text
    assert "Will you join the reference group?" in en
    assert "National Service for Epilepsy Surgery" in en and '<html lang="en">' in en
    browser_en = web_client.get(f"/t/{raw}", headers={"accept-language": "en-GB,en;q=0.9,nb;q=0.5"})
    assert "Will you join the reference group?" in browser_en.text
    assert web_client.get(f"/t/{raw}?lang=nb", headers={"accept-language": "en"}).text.count(
        "Vil du være medlem") == 2  # <title> and <h1>
    assert browser_en.headers["vary"] == "Accept-Language"


@pytest.mark.parametrize("query, header, fallback, expected", [
    (None, None, "nb", "nb"), (None, None, "en", "en"), ("en", "nb", "nb", "en"),
    (None, "nn-NO,nn;q=0.9,en;q=0.8", "en", "nb"), (None, "no", "en", "nb"),
    (None, "de-DE,en;q=0.3,nb;q=0.2", "nb", "en"), (None, "de, fr;q=0.9", "en", "en"),
    (None, "en;q=garbage, nb;q=0.1", "en", "nb"), ("xx", None, "nb", "nb"),
])
def test_language_negotiation(query, header, fallback, expected):
    """?lang wins, then the best Accept-Language we speak (nn/no read bokmål), then the case's."""
    assert negotiate(query, header, fallback) == expected


def test_both_languages_say_everything():
    """Every text exists in bokmål and English, so no page falls back mid-sentence."""
    assert set(TEXTS["nb"]) == set(TEXTS["en"])


@pytest.mark.parametrize("kind, extra, absent", [
    ("national", "I tillegg for behandlingstjenester", "kompetansetjenester (§ 2.2)"),
    ("multiregional", "I tillegg for behandlingstjenester", "nasjonale sentre (§ 2.3)"),
    ("competence", "I tillegg for kompetansetjenester", "behandlingstjenester (§ 2.1)"),
    ("centre", "I tillegg for nasjonale sentre", "behandlingstjenester (§ 2.1)"),
    ("network", "Oppgaver for alle referansegrupper", "I tillegg for"),
])
def test_mandate_page_per_kind_of_service(web_client, kind, extra, absent):
    """The mandate link opens the tasks of every group plus those of the service's kind."""
    r = web_client.get(f"/mandate/{kind}")
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=3600"
    assert "Møtes minst én gang i året" in r.text and extra in r.text and absent not in r.text
    assert "Utgifter (§ 5)" in r.text
    en = web_client.get(f"/mandate/{kind}?lang=en").text
    assert "Meet at least once a year" in en


def test_health_and_front_page(web_client):
    """A reverse proxy or monitor can ask /healthz; the front page says what the site is for."""
    r = web_client.get("/healthz")
    assert (r.status_code, r.text) == (200, "ok")
    r = web_client.get("/", headers={"accept-language": "en"})
    assert r.status_code == 200 and "Open the link in the email" in r.text
    assert r.headers["content-language"] == "en"
    assert web_client.get("/favicon.ico").status_code == 204


def test_unknown_pages_and_methods_are_friendly(web_client):
    """Unknown addresses and methods get a page in the reader's language, not a stack trace."""
    for r in (web_client.get("/mandate/unknown-kind"), web_client.get("/nope"), web_client.put("/t/abc"),
              web_client.get("/docs"), web_client.get("/openapi.json")):
        assert r.status_code in (404, 405) and "Siden finnes ikke" in r.text, r.url
    assert "Page not found" in web_client.get("/nope?lang=en").text


def test_an_internal_error_is_a_friendly_page(initialised, raw, web_client, caplog):
    """A broken database gives the reader 'something went wrong' (500), never a stack trace,
    and the log names the error in one line, without the link or a traceback (whose SQL
    parameters may hold personal data)."""
    with dbsql.connect(initialised.db) as conn:
        conn.execute("DROP TABLE token" + (" CASCADE" if dbsql.is_postgres(initialised.db)
                                           else ""))
    with caplog.at_level(logging.ERROR, logger="appointer.web"):
        r = web_client.get(f"/t/{raw}")
    assert r.status_code == 500 and "Noe gikk galt" in r.text
    assert "Traceback" not in r.text and "sqlite" not in r.text.lower()
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "unhandled error" in caplog.text and raw not in caplog.text
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert re.search(r"OperationalError|ProgrammingError",  # names the error …
                     errors[0].getMessage())
    assert all(rec.exc_info is None for rec in errors)  # … without a traceback (SQL parameters)


def test_access_log_never_shows_a_token(initialised, clock, raw, caplog):
    """uvicorn's access log prints request paths; a link's path is its secret and is redacted."""
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        with LiveServer(access_log=True) as srv:
            srv.serve(create_app(initialised, clock))
            with httpx.Client(base_url=srv.url) as client:
                assert client.get(f"/t/{raw}?lang=en").status_code == 200
                client.post(f"/t/{raw}", data={"trigger": "decline", "case": "1"})
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert len(lines) == 2, lines
    assert all("/t/[redacted]" in line and raw not in line for line in lines)


def _appointer(*args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-m", "appointer", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, **kw)


def test_serve_runs_the_app_and_keeps_tokens_out_of_its_log(initialised, clock, raw):
    """`appointer serve` answers links on the port it reports, keeps the client address a
    trusted local reverse proxy forwards as the evidence, and its console log carries no
    token."""
    env = dict(os.environ, APPOINTER_BASE_URL="https://svar.example.no")
    proc = _appointer("--db", initialised.db, "--today", clock.today().isoformat(), "serve",
                      "--port", "0", "--trusted-proxies", "127.0.0.1,::1", env=env)
    lines: queue.Queue[str | None] = queue.Queue()

    def read():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    try:
        url = None
        while url is None:
            line = lines.get(timeout=30)
            assert line is not None, "".join(seen)
            seen.append(line)
            m = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
            url = m.group(1) if m else None
        r = httpx.get(f"{url}/t/{raw}", timeout=20)
        assert r.status_code == 200
        assert 'href="https://svar.example.no/mandate/national?lang=nb"' in r.text
        assert r.headers.get("server") is None
        r = httpx.post(f"{url}/t/{raw}", data={"trigger": "accept", "case": "1"}, timeout=20,
                       headers={"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https"})
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    while (line := lines.get(timeout=30)) is not None:
        seen.append(line)
    proc.stdout.close()
    log = "".join(seen)
    assert '"GET /t/[redacted] HTTP/1.1" 200' in log, log
    assert raw not in log
    with transaction(initialised) as tx:
        row = tx.session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (row.trigger, row.evidence["ip"]) == ("accept", "203.0.113.7")


@pytest.mark.backend_independent("about a SQLite file that does not exist")
def test_serve_refuses_a_missing_database(tmp_path):
    """`appointer serve` on a database that does not exist says how to create it, exit 1."""
    proc = _appointer("--db", str(tmp_path / "none.sqlite"), "serve", "--port", "0")
    with proc:
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    assert "Error: no Appointer database" in out and "appointer init" in out


def test_serve_help_has_an_example(cli):
    """`appointer serve --help` documents itself with an example."""
    out = cli("serve", "--help").output
    assert "Example:" in out and "--port" in out and "APPOINTER_BASE_URL" in out
