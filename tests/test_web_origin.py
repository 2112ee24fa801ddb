"""The web app believes only what it was configured to: redirects and URLs come from
APPOINTER_BASE_URL whatever Host a request names, and X-Forwarded-For sets the evidence IP
only when it comes from a trusted proxy (none by default). Over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select
from weblive import links_to, propose

from appointer import settings as settings_mod
from appointer.db import transaction
from appointer.models import AuditEvent
from appointer.web import create_app

CANDIDATE = "frida.solheim@helse-bergen.example"
FORGED = {"host": "evil.example", "x-forwarded-host": "evil.example",
          "x-forwarded-proto": "http", "forwarded": "host=evil.example;proto=http"}


def _evidence_ip(settings) -> str:
    with transaction(settings) as tx:
        row = tx.session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert row.trigger == "accept"
    return row.evidence["ip"]


def _answer(url: str, settings, clock, headers: dict) -> None:
    propose(settings, clock)
    raw = links_to(settings, CANDIDATE)[-1]
    r = httpx.post(f"{url}/t/{raw}", data={"trigger": "accept", "case": "1"}, headers=headers,
                   timeout=20)
    assert r.status_code == 200, r.text


def test_a_forged_host_never_reaches_a_redirect(web, web_client):
    """`Host: evil.example` (and X-Forwarded-Host, Forwarded): the trailing-slash redirect
    still points at the base URL, with the query kept."""
    r = web_client.get("/mandate/national/?lang=en", headers=FORGED)
    assert r.status_code == 308
    assert r.headers["location"] == "https://appointer.example.no/mandate/national?lang=en"
    assert web_client.get(r.headers["location"].removeprefix("https://appointer.example.no")
                          ).status_code == 200


def test_a_redirect_cannot_be_given_headers_or_another_host(web, web_client):
    """A path crafted with a line break or a second host stays one quoted path on our own
    host: no header is injected, no other site is named."""
    r = web_client.get("/x%0d%0aSet-Cookie:%20a=b/", headers=FORGED)
    assert r.status_code == 308 and "set-cookie" not in r.headers
    assert r.headers["location"] == "https://appointer.example.no/x%0D%0ASet-Cookie:%20a=b"
    r = web_client.get(f"{web.url}//evil.example/", headers=FORGED)
    assert r.status_code == 308
    assert r.headers["location"] == "https://appointer.example.no//evil.example"


def test_x_forwarded_for_is_ignored_by_default(web, initialised, clock):
    """With no trusted proxy configured, a local process cannot choose the consent evidence
    IP: the connecting address is kept."""
    _answer(web.url, initialised, clock, {"x-forwarded-for": "203.0.113.7", **FORGED})
    assert _evidence_ip(initialised) == "127.0.0.1"


def test_x_forwarded_for_from_a_trusted_proxy_is_believed(web_server, initialised, clock):
    """From a trusted proxy the evidence IP is the nearest untrusted address in
    X-Forwarded-For (a client cannot prepend its own choice)."""
    trusting = settings_mod.replace(initialised, trusted_proxies="127.0.0.1, 10.0.0.0/8")
    web_server.serve(create_app(trusting, clock))
    try:
        _answer(web_server.url, trusting, clock,
                {"x-forwarded-for": "198.51.100.9, 203.0.113.7, 10.1.2.3"})
    finally:
        web_server.app = None
    assert _evidence_ip(trusting) == "203.0.113.7"


def test_a_bad_trusted_proxies_setting_is_refused(tmp_path):
    """APPOINTER_TRUSTED_PROXIES that is not a list of addresses or networks stops start-up
    with a message naming the bad entry."""
    with pytest.raises(ValueError, match="'proxy.example' is not an IP address"):
        settings_mod.load(env={"APPOINTER_TRUSTED_PROXIES": "127.0.0.1, proxy.example"},
                          db=str(tmp_path / "a.sqlite"))
