"""The annual report in a real headless browser (Debian's chromium via Playwright): a
regional member writes their part, saves a draft, marks it done; a member approves the
finished report (issue 13)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from report_support import OPEN_DAY, REGION_EMAIL, author_link, full_group, open_year, register
from sqlmodel import select
from test_report_web import _link_in
from test_web_browser import ARGS, chromium  # noqa: F401  (the fixture)
from weblive import LiveServer

from appointer import db, report_parts
from appointer.clock import Clock
from appointer.engine import Actor
from appointer.models import ReportApproval, ReportPartVersion
from appointer.web import create_app


@pytest.mark.slow
@pytest.mark.browser
def test_write_save_mark_done_and_approve_in_a_real_browser(chromium, initialised,  # noqa: F811
                                                            steps):
    """The member opens their link, writes, saves a draft (version 1), marks the part done;
    once the group's part is done a member approves from the approval link. No script runs
    and nothing is blocked."""
    from playwright.sync_api import sync_playwright

    with LiveServer() as srv:
        settings = dataclasses.replace(initialised, base_url=srv.url)
        srv.serve(create_app(settings, Clock(OPEN_DAY)))
        sid = register(settings, "Tjeneste Nasjonal", established_on=dt.date(2015, 1, 1))
        full_group(steps, sid)
        report_id = open_year(settings, service=sid)["opened"][0]["id"]
        link = author_link(settings, REGION_EMAIL["nord"])

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
            try:
                page = browser.new_page(locale="nb-NO", java_script_enabled=False)
                problems: list[str] = []
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
                page.goto(link)
                assert page.locator("h1").inner_text() == "Årsrapport 2026: Delen for Helse Nord RHF"
                page.fill("#text", "I Helse Nord brukes tjenesten mye.")
                page.get_by_role("button", name="Lagre utkast").click()
                page.wait_for_load_state()
                assert page.locator("#notice").inner_text() == "Lagret som versjon 1."
                page.fill("#text", "I Helse Nord brukes tjenesten mye, særlig i Tromsø.")
                page.get_by_role("button", name="Lagre og marker som ferdig").click()
                page.wait_for_load_state()
                assert "markert som ferdig" in page.locator("#notice").inner_text()
                assert "særlig i Tromsø" in page.locator("#final").inner_text()

                with db.transaction(settings, Clock(OPEN_DAY)) as tx:  # the group leader finishes
                    lead = Actor("author", REGION_EMAIL["vest"])
                    report_parts.save(tx, report_id, "group", "Gruppen er fornøyd.", lead, None,
                                      done=True)
                page.goto(_link_in(settings, REGION_EMAIL["nord"],
                                   "annual_report.member.approval_request"))
                assert "særlig i Tromsø" in page.locator("main").inner_text()
                page.fill("#comment", "Godt skrevet.")
                page.get_by_role("button", name="Godkjenn rapporten").click()
                page.wait_for_load_state()
                assert page.locator("#notice").inner_text() == "Du har godkjent rapporten."
                assert "Medlem nord: godkjent" in page.locator("#answers").inner_text()
                assert problems == []
            finally:
                browser.close()

    with db.transaction(settings, Clock(OPEN_DAY)) as tx:
        versions = [v.text for v in tx.session.exec(
            select(ReportPartVersion).order_by(ReportPartVersion.id))]
        approvals = [(a.email, a.decision, a.comment) for a in tx.session.exec(
            select(ReportApproval))]
    assert versions[:2] == ["I Helse Nord brukes tjenesten mye.",
                            "I Helse Nord brukes tjenesten mye, særlig i Tromsø."]
    assert approvals == [(REGION_EMAIL["nord"], "approve", "Godt skrevet.")]
