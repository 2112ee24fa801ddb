"""The annual report's link pages over real HTTP: each author writes only their own part,
concurrent writers never lose a word, a stale tab is told "changed meanwhile", members
approve, only the named submitter submits (issue 13)."""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from report_support import (
    OPEN_DAY,
    REGION_EMAIL,
    author_link,
    full_group,
    open_year,
    parts,
    register,
    report_of,
)
from sqlmodel import func, select

from appointer import db
from appointer.clock import Clock
from appointer.models import (
    AuditEvent,
    OutboxMessage,
    ReportApproval,
    ReportCase,
    ReportPart,
    ReportPartVersion,
    Token,
)

LEADER = "leder-nasjonal@hf.example"


@pytest.fixture
def opened(initialised, steps, web):
    """A service with a full group (vest's member leads it) and its 2026 report opened; the
    web app's clock on the opening day."""
    web.app.state.clock = Clock(OPEN_DAY)
    sid = register(initialised, "Tjeneste Nasjonal", established_on=dt.date(2015, 1, 1))
    full_group(steps, sid)
    open_year(initialised, service=sid)
    return report_of(initialised, sid).id


def _path(url: str) -> str:
    return "/r/" + url.rsplit("/r/", 1)[1]


def _base(page: str) -> str:
    return re.search(r'name="base" value="(\d*)"', page).group(1)


def _snapshot(settings) -> dict:
    with db.transaction(settings, Clock(OPEN_DAY)) as tx:
        s = tx.session
        return {"reports": [(r.id, r.state, r.version_id) for r in s.exec(select(ReportCase))],
                "parts": [(p.id, p.state, p.current_version_id) for p in s.exec(select(ReportPart))],
                "versions": s.exec(select(func.count()).select_from(ReportPartVersion)).one(),
                "approvals": s.exec(select(func.count()).select_from(ReportApproval)).one(),
                "audit": s.exec(select(func.count()).select_from(AuditEvent)).one(),
                "outbox": s.exec(select(func.count()).select_from(OutboxMessage)).one(),
                "tokens": s.exec(select(func.count()).select_from(Token)).one()}


def test_six_authors_write_at_the_same_time_and_every_text_is_kept(initialised, opened, web):
    """The service leader, four regional members and the group leader post at once: each
    text is stored in its own part, nothing overwritten, nothing lost."""
    posts = [(LEADER, "service")] + [(REGION_EMAIL[c], f"region:{c}") for c in
                                     ("sor-ost", "vest", "midt", "nord")] + [
        (REGION_EMAIL["vest"], "group")]
    links = {email: _path(author_link(initialised, email)) for email, _ in posts}
    texts = {part: f"Teksten for {part}: " + "ord " * 200 for _, part in posts}

    def post(item):
        email, part = item
        with httpx.Client(base_url=web.url, timeout=30) as client:
            return client.post(links[email], data={"action": "save", "part": part, "base": "",
                                                   "text": texts[part]})

    with ThreadPoolExecutor(len(posts)) as pool:
        responses = list(pool.map(post, posts))
    assert [r.status_code for r in responses] == [200] * len(posts), [r.text[-400:] for r in responses]
    stored = parts(initialised, opened)
    with db.transaction(initialised, Clock(OPEN_DAY)) as tx:
        for _, part in posts:
            version = tx.session.get(ReportPartVersion, stored[part].current_version_id)
            assert version.text == texts[part].strip() and version.number == 1
        assert tx.session.exec(select(func.count()).select_from(ReportPartVersion)).one() == 6


def test_a_stale_tab_is_told_changed_meanwhile_with_the_newer_text(initialised, opened,
                                                                   web_client):
    """The same author in two tabs: the second save, written over an older version, stores
    nothing and shows the newer text, keeping the writer's own text on the page."""
    link = _path(author_link(initialised, REGION_EMAIL["nord"]))
    first = web_client.post(link, data={"action": "save", "part": "region:nord", "base": "",
                                        "text": "Første utkast."})
    assert first.status_code == 200 and "versjon 1" in first.text
    base = _base(first.text)
    tab_a = web_client.get(link)
    tab_b = web_client.get(link)
    assert _base(tab_a.text) == _base(tab_b.text) == base
    saved = web_client.post(link, data={"action": "save", "part": "region:nord", "base": base,
                                        "text": "Fra fane A."})
    assert saved.status_code == 200
    stale = web_client.post(link, data={"action": "save", "part": "region:nord", "base": base,
                                        "text": "Fra fane B."})
    assert stale.status_code == 409
    assert "endret i mellomtiden" in stale.text
    assert re.search(r'<textarea id="text"[^>]*>Fra fane A\.</textarea>', stale.text)
    assert 'id="yours">Fra fane B.</pre>' in stale.text
    with db.transaction(initialised, Clock(OPEN_DAY)) as tx:
        texts = [v.text for v in tx.session.exec(select(ReportPartVersion)
                                                 .order_by(ReportPartVersion.id))]
    assert texts == ["Første utkast.", "Fra fane A."]


def test_two_tabs_saving_at_once_keep_one_and_tell_the_other(initialised, opened, web):
    """Two saves of one part over the same version at the same moment: one is stored, the
    other is told "changed meanwhile" — never a silent overwrite."""
    link = _path(author_link(initialised, REGION_EMAIL["midt"]))

    def post(text):
        with httpx.Client(base_url=web.url, timeout=30) as client:
            return client.post(link, data={"action": "save", "part": "region:midt", "base": "",
                                           "text": text})

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(post, ["Tekst én.", "Tekst to."]))
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert _snapshot(initialised)["versions"] == 1


def test_an_author_cannot_answer_for_another_part_and_empty_text_is_refused(
        initialised, opened, web_client):
    """A link posting another author's part gets 403, an empty text 400; nothing stored.
    GET on the link changes nothing."""
    link = _path(author_link(initialised, REGION_EMAIL["sor-ost"]))
    before = _snapshot(initialised)
    assert web_client.get(link).status_code == 200
    assert web_client.head(link).status_code == 200
    assert _snapshot(initialised) == before
    other = web_client.post(link, data={"action": "save", "part": "region:nord", "base": "",
                                        "text": "Ikke min del."})
    assert other.status_code == 403
    empty = web_client.post(link, data={"action": "save", "part": "region:sor-ost", "base": "",
                                        "text": "   "})
    assert empty.status_code == 400 and "empty" in empty.text
    assert _snapshot(initialised) == before
    assert web_client.get("/r/" + "x" * 32).status_code == 404


def test_group_page_shows_regional_parts_as_they_come_in(initialised, opened, web_client):
    """The group leader's page for the group's part shows each regional part's text and
    state once saved."""
    nord = _path(author_link(initialised, REGION_EMAIL["nord"]))
    web_client.post(nord, data={"action": "save", "part": "region:nord", "base": "",
                                "text": "Nord: lange reiser."})
    lead = _path(author_link(initialised, REGION_EMAIL["vest"]))
    chooser = web_client.get(lead)
    assert "referansegruppens del" in chooser.text.lower() and "?part=group" in chooser.text
    page = web_client.get(lead, params={"part": "group"})
    assert "Nord: lange reiser." in page.text and "Medlem nord" in page.text
    # each part's state in words (the terms file's state.report_part), not its code
    assert "Medlem nord (utkast)" in page.text and "(ikke påbegynt)" in page.text
    english = web_client.get(lead, params={"part": "group", "lang": "en"}).text
    assert "(draft)" in english and "(not started)" in english and "(invited)" not in english


def test_members_approve_and_only_the_named_submitter_submits(initialised, opened, web_client):
    """Once the group's part is done every member gets an approve link; the group leader
    closes the approval; the submitter's link submits once; a second submit is refused."""
    texts = {LEADER: ["service"], REGION_EMAIL["sor-ost"]: ["region:sor-ost"],
             REGION_EMAIL["midt"]: ["region:midt"], REGION_EMAIL["nord"]: ["region:nord"],
             REGION_EMAIL["vest"]: ["region:vest", "group"]}
    for email, own in texts.items():
        link = _path(author_link(initialised, email))
        for part in own:
            r = web_client.post(link, data={"action": "done", "part": part, "base": "",
                                            "text": f"Ferdig tekst for {part}."})
            assert r.status_code == 200, r.text
    assert report_of(initialised, _service(initialised, opened)).state == "approval"
    member = _path(_link_in(initialised, REGION_EMAIL["nord"],
                            "annual_report.member.approval_request"))
    page = web_client.get(member)
    assert "Ferdig tekst for region:nord." in page.text and 'value="close"' not in page.text
    assert web_client.post(member, data={"action": "close"}).status_code == 403  # not the leader
    assert web_client.post(member, data={"action": "approve"}).status_code == 200
    lead = _path(_link_in(initialised, REGION_EMAIL["vest"],
                          "annual_report.member.approval_request"))
    closed = web_client.post(lead, data={"action": "close"})
    assert closed.status_code == 200 and "Godkjenningen er avsluttet" in closed.text
    assert web_client.post(member, data={"action": "submit"}).status_code == 400  # a member's link
    submit = _path(_link_in(initialised, LEADER, "annual_report.submitter.ready"))
    done = web_client.post(submit, data={"action": "submit"})
    assert done.status_code == 200 and "sendt inn" in done.text
    before = _snapshot(initialised)
    again = web_client.post(submit, data={"action": "submit"})
    assert again.status_code == 400
    assert _snapshot(initialised) == before
    report = report_of(initialised, _service(initialised, opened))
    assert report.state == "submitted" and report.submitted_by.endswith("(submitter)")


def _service(settings, report_id) -> int:
    with db.transaction(settings, Clock(OPEN_DAY)) as tx:
        return tx.session.get(ReportCase, report_id).service_id


def _link_in(settings, email, template) -> str:
    with db.transaction(settings, Clock(OPEN_DAY)) as tx:
        rows = tx.session.exec(select(OutboxMessage).where(OutboxMessage.template == template)
                               .order_by(OutboxMessage.id.desc())).all()
    for m in rows:
        if email in m.to_addrs:
            return re.search(r"https?://\S+/r/[A-Za-z0-9_-]+", m.body_text).group(0)
    raise AssertionError(f"no {template} to {email}")


def test_the_part_page_speaks_english_when_asked(initialised, opened, web_client):
    """The page is in Norwegian bokmål by default and in English on ?lang=en."""
    link = _path(author_link(initialised, REGION_EMAIL["midt"]))
    assert "Delen for Helse Midt-Norge RHF" in web_client.get(link).text
    page = web_client.get(link, params={"lang": "en"})
    assert "The part for Helse Midt-Norge RHF" in page.text and "Save draft" in page.text


def test_the_submitter_confirms_missing_parts_and_only_the_named_one_submits(
        initialised, opened, web_client, cli, tmp_path):
    """A missing regional part must be ticked, with a reason, before the report goes; a
    submit link of someone no longer named submitter is refused; the reason is kept."""
    cli.today = OPEN_DAY.isoformat()
    coord = "coord@sor-ost.example"
    path = tmp_path / "part.md"
    path.write_text("Tekst.")
    for part in ("service", "region:sor-ost", "region:vest", "region:midt", "group"):
        cli("report", "part", str(opened), part, "--file", str(path), "--done", actor=coord)
    cli("report", "approve", str(opened), "--date", OPEN_DAY.isoformat(), actor=coord)
    submit = _path(_link_in(initialised, LEADER, "annual_report.submitter.ready"))
    page = web_client.get(submit)
    assert 'name="without" value="region:nord"' in page.text and "Medlem nord" in page.text
    before = _snapshot(initialised)
    refused = web_client.post(submit, data={"action": "submit"})
    assert refused.status_code == 400 and "region:nord" in refused.text
    assert _snapshot(initialised) == before
    cli("report", "submitter", str(_service(initialised, opened)), "--name", "Ny Innsender",
        "--email", "ny@hf.example", actor=coord)
    stale = web_client.post(submit, data={"action": "submit", "without": "region:nord",
                                          "reason": "sykmeldt"})
    assert stale.status_code == 403
    cli("report", "submitter", str(_service(initialised, opened)), "--name", "Leder",
        "--email", LEADER, actor=coord)
    done = web_client.post(submit, data={"action": "submit", "without": "region:nord",
                                         "reason": "medlemmet er sykmeldt"})
    assert done.status_code == 200, done.text
    report = report_of(initialised, _service(initialised, opened))
    assert report.missing_parts == {"region:nord": "medlemmet er sykmeldt"}
