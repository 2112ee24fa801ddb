"""End to end in a real headless browser (Debian's chromium, driven by Playwright): the email
arrives at a real SMTP server, its link opens the page, the candidate clicks accept and sees
the confirmation."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess

import pytest
from sqlmodel import select
from weblive import LiveServer, case_state, propose

from appointer.clock import Clock
from appointer.db import transaction
from appointer.mail.sender import send_outbox
from appointer.models import AuditEvent
from appointer.settings import replace
from appointer.web import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CANDIDATE = "frida.solheim@helse-bergen.example"


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed with apt when missing and we may (Playwright's own browser
    download is never used)."""
    if not os.path.exists(CHROMIUM):
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.skip(f"{CHROMIUM} is missing; install Debian's chromium (apt-get install "
                        "chromium) or deselect with -m 'not browser'")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update"], check=True, env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
                       check=True, env=env, capture_output=True)
    assert os.path.exists(CHROMIUM)
    return CHROMIUM


def deliver_outbox(settings, port: int) -> None:
    """Deliver the queued messages to the SMTP server on `port` with the real sender
    (what `appointer mail send` runs)."""
    report = send_outbox(replace(settings, smtp_host="127.0.0.1", smtp_port=port,
                                 smtp_tls="none"), Clock())
    assert report.error is None and report.failed == 0, report


def link_in_mail(sink, to: str) -> str:
    for msg in sink.messages():
        if msg["To"] == to:
            html = msg.get_body(("html",)).get_content()
            links = re.findall(r'href="([^"]*/t/[^"]*)"', html)
            assert links, "the message carries the answer link"
            return links[0]
    raise AssertionError(f"no message to {to}")


@pytest.mark.slow
@pytest.mark.browser
def test_candidate_accepts_from_the_email_in_a_real_browser(chromium, initialised, clock,
                                                            smtp_sink):
    """A candidate on a phone opens the link in the email, reads what is asked, taps accept
    and sees that the answer is registered; no script runs and nothing is blocked."""
    from playwright.sync_api import sync_playwright

    with LiveServer() as srv:
        settings = dataclasses.replace(initialised, base_url=srv.url)
        srv.serve(create_app(settings, clock))
        case = propose(settings, clock)["region:vest"]
        deliver_outbox(settings, smtp_sink.port)
        link = link_in_mail(smtp_sink, CANDIDATE)
        assert link.startswith(f"{srv.url}/t/")

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 390, "height": 844},
                                        is_mobile=True, locale="nb-NO",
                                        java_script_enabled=False)
                problems: list[str] = []
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
                page.goto(link)
                assert page.locator("h1").inner_text() == "Vil du være medlem av referansegruppen?"
                assert case_state(settings, case) == "proposed"  # opening changed nothing
                page.get_by_role("button", name="Ja, jeg tar oppdraget").click()
                page.wait_for_load_state()
                assert page.locator("h1").inner_text() == "Takk, svaret er registrert"
                assert "Knut Aas" in page.locator("main").inner_text()
                assert problems == []
            finally:
                browser.close()

    assert case_state(settings, case) == "awaiting_consent"
    with transaction(settings) as tx:
        row = tx.session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (row.actor, row.trigger) == (CANDIDATE, "accept")
    assert "Chrome" in row.evidence["user_agent"]
