"""The reminder run and the annual reports: each part's author on the right days, nothing
after the part is done, one escalation to the region, the members who have not approved, the
submitter; the weekly digest's annual-report section (issue 13)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from report_support import OPEN_DAY, REGION_EMAIL, YEAR, full_group, open_year, register, report_of
from sqlmodel import select

from appointer import db, remind
from appointer.clock import Clock
from appointer.models import OutboxMessage, ReminderLog

SERVICE_LEADER = "leder-nasjonal@hf.example"


@pytest.fixture
def report(initialised, steps):
    sid = register(initialised, "Tjeneste Nasjonal", established_on=dt.date(2015, 1, 1))
    full_group(steps, sid)
    open_year(initialised, service=sid)
    return report_of(initialised, sid).id


def _run(settings, day: dt.date) -> list[dict]:
    return remind.run_once(settings, Clock(day))["messages"]


def _part_reminders(messages) -> list[tuple[str, str]]:
    return sorted((m["to"], m["template"]) for m in messages
                  if m["template"].startswith("reminder.case.report"))


def test_authors_are_reminded_two_and_one_week_before_their_deadline(initialised, report):
    """The service's author on 27 January and 3 February (deadline 10 February), once each;
    nothing the day before; the reminder carries a link to the author's own page."""
    assert _part_reminders(_run(initialised, dt.date(2027, 1, 26))) == []
    first = _part_reminders(_run(initialised, dt.date(2027, 1, 27)))
    assert first == [(SERVICE_LEADER, "reminder.case.report_author")]
    assert _part_reminders(_run(initialised, dt.date(2027, 1, 27))) == []  # idempotent
    assert _part_reminders(_run(initialised, dt.date(2027, 1, 28))) == []
    second = _part_reminders(_run(initialised, dt.date(2027, 2, 3)))
    assert second == [(SERVICE_LEADER, "reminder.case.report_author")]
    with db.transaction(initialised, Clock(OPEN_DAY)) as tx:
        msg = tx.session.exec(select(OutboxMessage).where(
            OutboxMessage.template == "reminder.case.report_author")
            .order_by(OutboxMessage.id.desc())).first()
    assert "/r/" in msg.body_text and "10. februar 2027" in msg.subject
    assert "Vi minner igjen om" in msg.body_text


def test_no_reminder_after_a_part_is_done_and_escalation_once(initialised, report, cli, tmp_path):
    """A part marked done gets no more reminders; the parts still open on 15 February remind
    their authors; the day after the deadline the region is told once (its digest)."""
    path = tmp_path / "vest.md"
    path.write_text("Vest: tjenesten fungerer godt.")
    cli.today = "2027-02-01"
    cli("report", "part", str(report), "region:vest", "--file", str(path), "--done",
        actor="coord@vest.example")
    got = _part_reminders(_run(initialised, dt.date(2027, 2, 15)))
    assert got == sorted([(REGION_EMAIL["sor-ost"], "reminder.case.report_author"),
                          (REGION_EMAIL["midt"], "reminder.case.report_author"),
                          (REGION_EMAIL["nord"], "reminder.case.report_author"),
                          (REGION_EMAIL["vest"], "reminder.case.report_author"),  # group part
                          # the first run: the service's latest due reminder (3 Feb) only
                          (SERVICE_LEADER, "reminder.case.report_author")])
    with db.transaction(initialised, Clock(OPEN_DAY)) as tx:
        vest = tx.session.exec(select(OutboxMessage).where(
            OutboxMessage.template == "reminder.case.report_author",
            OutboxMessage.created_at >= dt.datetime(2027, 2, 14, tzinfo=dt.UTC))).all()
    vest_subjects = [m.subject for m in vest if REGION_EMAIL["vest"] in m.to_addrs]
    assert vest_subjects and all("referansegruppens del" in s for s in vest_subjects)
    def escalations():
        with db.transaction(initialised, Clock(OPEN_DAY)) as tx:
            return sorted((e.subject_id, e.due_on, e.recipient) for e in tx.session.exec(
                select(ReminderLog).where(ReminderLog.rule == f"annual_report.part.{YEAR}.escalate")))

    _run(initialised, dt.date(2027, 3, 2))  # the week's digest (Monday's, caught up)
    first = escalations()
    # the service's part (due 10 Feb), three regional parts and the group's part (1 March)
    assert len({s for s, _, _ in first}) == 5
    assert {(r, d) for _, d, r in first if r.startswith("coord@nord")} == {
        ("coord@nord.example", dt.date(2027, 3, 2))}  # nord's own part, not the others'
    _run(initialised, dt.date(2027, 3, 5))
    _run(initialised, dt.date(2027, 3, 8))  # next week's digest lists them, escalates nothing new
    assert escalations() == first


def test_the_digest_has_an_annual_reports_section(initialised, report):
    """The coordinators' weekly digest lists open report parts under «Årsrapporter», by
    region and person."""
    _run(initialised, dt.date(2027, 3, 8))  # a Monday, after the escalation
    with db.transaction(initialised, Clock(OPEN_DAY)) as tx:
        digests = tx.session.exec(select(OutboxMessage).where(
            OutboxMessage.template == "reminder.digest")).all()
    digest = next(m for m in digests if m.to_addrs == ["coord@nord.example"])
    assert "Årsrapporter" in digest.body_text
    assert "delen for Helse Nord RHF (Medlem nord) er ikke ferdig" in digest.body_text


def test_members_who_have_not_approved_and_then_the_submitter(initialised, report, cli,
                                                              tmp_path):
    """A week after the group's part is done the members who have not approved are
    reminded (not the one who did); once approved, the submitter is reminded a week later."""
    from appointer import report_parts
    from appointer.engine import Actor

    path = tmp_path / "part.md"
    path.write_text("Tekst.")
    cli.today = "2027-01-20"
    for part in ("service", "region:sor-ost", "region:vest", "region:midt", "region:nord",
                 "group"):
        cli("report", "part", str(report), part, "--file", str(path), "--done",
            actor="coord@sor-ost.example")
    with db.transaction(initialised, Clock(dt.date(2027, 1, 21))) as tx:
        report_parts.answer(tx, report, Actor("member", REGION_EMAIL["midt"]), "approve")
    got = _part_reminders(_run(initialised, dt.date(2027, 1, 27)))
    assert got == sorted((REGION_EMAIL[c], "reminder.case.report_member")
                         for c in ("sor-ost", "vest", "nord"))
    cli.today = "2027-01-28"
    cli("report", "approve", str(report), "--date", "2027-01-28", actor="coord@sor-ost.example")
    assert _part_reminders(_run(initialised, dt.date(2027, 2, 3))) == []
    got = _part_reminders(_run(initialised, dt.date(2027, 2, 4)))
    assert got == [(SERVICE_LEADER, "reminder.case.report_submitter")]


def test_a_regional_deadline_before_the_groups_staggers_the_reminders(initialised, report):
    """With the regional parts due before the group's (a setting), their authors are reminded
    two weeks before that date and the group leader for the group's part later."""
    staggered = dataclasses.replace(initialised, report_regional_deadline="02-20")
    got = _part_reminders(_run(staggered, dt.date(2027, 2, 6)))
    assert sorted(to for to, _ in got) == sorted([SERVICE_LEADER, *REGION_EMAIL.values()])
    second = _part_reminders(_run(staggered, dt.date(2027, 2, 13)))  # a week before 20 Feb
    assert sorted(to for to, _ in second) == sorted(REGION_EMAIL.values())
    assert _part_reminders(_run(staggered, dt.date(2027, 2, 15))) == [
        (REGION_EMAIL["vest"], "reminder.case.report_author")]  # the group's part, 1 March


def test_the_cycle_dates_are_settings_in_appointer_toml(tmp_path):
    """Every date of the cycle is read from appointer.toml; one that does not exist every
    year is refused."""
    from appointer import reports
    from appointer import settings as settings_mod

    path = tmp_path / "appointer.toml"
    path.write_text('report_service_deadline = "03-01"\nreport_group_deadline = "03-01"\n'
                    'report_feedback_deadline = "06-15"\nreport_from = "establishment_year"\n')
    loaded = settings_mod.load(str(path), env={})
    d = reports.deadlines(loaded, 2026)
    assert (d["service"], d["group"], d["feedback"]) == (
        dt.date(2027, 3, 1), dt.date(2027, 3, 1), dt.date(2027, 6, 15))
    path.write_text('report_assessment_deadline = "02-29"\n')
    with pytest.raises(ValueError, match="REPORT_ASSESSMENT_DEADLINE"):
        settings_mod.load(str(path), env={})
