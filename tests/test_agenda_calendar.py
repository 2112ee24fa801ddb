"""The agenda in the terminal, the deadlines as an iCalendar file, and lifecycle deadlines in
the reminder run (whatever rules `deadlines.service_deadlines` returns)."""

from __future__ import annotations

import datetime as dt

import dbsql
import icalendar
import pytest
from oversight_helpers import (
    add_service,
    count,
    full_group,
    propose,
    queued,
    start_reminding,
)

from appointer import db, deadlines
from appointer.clock import Clock
from appointer.deadlines import Deadline
from appointer.models import Service

D = dt.date.fromisoformat
BERGEN = {"region:vest": "Helse Stavanger HF", "service": "Helse Bergen HF"}


@pytest.fixture
def register(initialised):
    """Appointer reminding since 6 January 2025. A: a full group (Oslo) with a candidate for
    an extra seat proposed on 2 February. B: approved and registered 10 April 2025 at Helse
    Bergen, establishment due 10 April 2026, no group yet."""
    start_reminding(initialised, D("2025-01-06"))
    a = add_service(initialised, D("2025-01-06"), "Tjeneste A")
    full_group(initialised, D("2025-01-06"), a)
    with db.transaction(initialised, Clock(D("2025-12-31"))) as tx:
        from appointer.appointments import resolve_actor
        from appointer.groups import record_meeting

        actor = resolve_actor(tx.session, "coord@vest.example")
        record_meeting(tx, a, D("2025-05-01"), None, actor)
        record_meeting(tx, a, D("2025-05-01") + dt.timedelta(days=200), None, actor)
    case = propose(initialised, D("2026-02-02"), a, "other:1", "otto",
                   institution="Helse Stavanger HF")
    b = add_service(initialised, D("2025-04-10"), "Tjeneste B", hosts=("Helse Bergen HF",),
                    state="approved", approved_on=D("2025-04-10"))
    return initialised, a, b, case


def test_agenda_lists_what_is_late_and_what_is_coming(register, cli):
    """`agenda` shows late items always and coming ones within the window, for a region."""
    settings, a, b, case = register
    items = cli.json("agenda", "--region", "vest", "--within", "60d")
    assert [(i["kind"], i["service_id"], i["state"], i["detail"].get("seat")) for i in items] == [
        ("group.vacant_seat", b, "overdue", "region:vest"),  # B has no group since April 2025
        ("group.vacant_seat", b, "overdue", "service"),  # B's own seat (Helse Bergen)
        ("group.vacant_seat", b, "overdue", "user:1"),  # user representatives: B's region
        ("lifecycle.establishment_due", b, "coming", None),  # 10 April, within 60 days
    ]
    assert items[-1]["next_reminder"] == {"rule": "lifecycle.establishment_due",
                                          "on": "2026-03-11", "to": ["service", "service_region"]}
    assert items[0]["due_on"] == "2025-04-24"  # reminded 14 days after it arose
    sor_ost = cli.json("agenda", "--region", "sor-ost")
    otto = next(i for i in sor_ost if i["kind"] == "appointment.proposed")  # A's region appoints
    assert otto["due_on"] == "2026-02-09" and otto["detail"]["case_id"] == case
    assert [r["rule"] for r in otto["reminded"]] == ["appointment.proposed.remind",
                                                     "appointment.proposed.escalate"]
    soon = cli.json("agenda", "--region", "vest", "--within", "4w")
    # 10 April is beyond 4 weeks, but its 90-day reminder has fallen due: it is on the agenda
    assert [i["kind"] for i in soon] == ["group.vacant_seat"] * 3 + ["lifecycle.establishment_due"]
    assert [i["kind"] for i in cli.json("agenda", "--region", "nord")] == ["group.vacant_seat"]
    text = cli("agenda", "--region", "vest").stdout  # bokmål, the default `lang`
    assert "Etablert senest ett år etter" in text
    assert "10. april 2026" in text and "over frist" in text and "region:" not in text
    english = cli("agenda", "--region", "vest", "--lang", "en").stdout
    assert "The service must be established at the" in english
    assert "10 April 2026" in english and "overdue" in english and "Etablert" not in english


def test_a_bad_window_or_region_is_refused(register, cli):
    """A window that is not a number of days/weeks/months, or an unknown region, is refused
    with the rule."""
    assert "give days like 60d" in cli("agenda", "--within", "soon", expect=2).output
    assert "no region 'east'" in cli("agenda", "--region", "east", expect=1).output


def test_calendar_export_has_stable_uids_that_follow_a_moved_deadline(register, cli, tmp_path):
    """Each open deadline is an all-day event; exporting again (another day, or after a date
    was corrected) keeps each UID, so a subscribed calendar updates instead of duplicating;
    a deadline that is met drops out."""
    settings, a, b, _ = register

    def export(day: str, *args) -> dict[str, icalendar.Event]:
        cli.today = day
        out = tmp_path / f"{day}.ics"
        cli("calendar", "export", *args, "-o", str(out))
        cal = icalendar.Calendar.from_ical(out.read_bytes())
        return {str(e["uid"]): e for e in cal.walk("VEVENT")}

    first = export("2026-03-02", "--region", "vest")
    assert len(first) == len(cli.json("agenda", "--region", "vest", "--within", "3650d"))
    est = next(e for u, e in first.items() if u.startswith("lifecycle.establishment_due"))
    assert est.decoded("dtstart") == D("2026-04-10") and est.decoded("dtend") == D("2026-04-11")
    # in the `lang` setting's words (bokmål), or those of --lang
    assert str(est["summary"]) == "Tjeneste B: Etablert senest ett år etter godkjenningen"
    english = export("2026-03-02", "--region", "vest", "--lang", "en")
    assert set(english) == set(first)
    assert str(english[str(est["uid"])]["summary"]) == (
        "Tjeneste B: The service must be established at the latest one year after approval")
    assert set(export("2026-03-03", "--region", "vest")) == set(first)

    with db.transaction(settings, Clock(D("2026-03-03"))) as tx:  # the approval date corrected
        tx.session.get(Service, b).approved_on = D("2025-04-20")
    moved = export("2026-03-03", "--region", "vest")
    assert set(moved) == set(first)
    assert moved[str(est["uid"])].decoded("dtstart") == D("2026-04-20")

    with db.transaction(settings, Clock(D("2026-03-04"))) as tx:  # established: the deadline is met
        row = tx.session.get(Service, b)
        row.state, row.established_on = "established", D("2026-03-04")
    assert str(est["uid"]) not in export("2026-03-04", "--region", "vest")
    cli.today = "2026-03-04"
    whole = cli("calendar", "export").stdout_bytes
    assert whole.startswith(b"BEGIN:VCALENDAR") and b"X-WR-CALNAME:Appointer" in whole


@pytest.mark.slow
def test_lifecycle_deadlines_are_reminded_30_days_before_and_on_the_day(register, cli):
    """Establishment due one year after approval (reminders 90, 30 and 0 days before, as
    workflows/lifecycle.toml declares): the first run catches up the 90-day step with one
    message, then the service is reminded 30 days before and on the day (once each, whatever
    the number of runs), and its host region's digest lists it; once established, nothing."""
    settings, a, b, _ = register
    full_group(settings, D("2026-01-05"), b, institutions=BERGEN)
    seen = []
    day, last = D("2026-03-01"), 0
    while day <= D("2026-06-30"):
        cli.today = day.isoformat()
        cli("remind")
        for m in queued(settings, last):
            last = m["id"]
            if any(r.startswith("lifecycle.") for r in m["rules"]):
                seen.append((day.isoformat(), m["template"], m["to"]))
        if day == D("2026-04-20"):
            with db.transaction(settings, Clock(day)) as tx:
                row = tx.session.get(Service, b)
                row.state, row.established_on = "established", day
        day += dt.timedelta(days=1)
    assert seen == [
        ("2026-03-01", "reminder.service", "leader@tjeneste-b.example"),  # 90 days: caught up
        ("2026-03-01", "reminder.digest", "coord@vest.example"),  # this week's digest, late
        ("2026-03-01", "reminder.digest", "contact@vest.example"),
        ("2026-03-11", "reminder.service", "leader@tjeneste-b.example"),
        ("2026-03-16", "reminder.digest", "coord@vest.example"),  # the next Monday
        ("2026-03-16", "reminder.digest", "contact@vest.example"),
        ("2026-04-10", "reminder.service", "leader@tjeneste-b.example"),
        ("2026-04-13", "reminder.digest", "coord@vest.example"),
        ("2026-04-13", "reminder.digest", "contact@vest.example"),
    ]


def test_any_deadline_rule_is_reminded_by_its_own_declaration(register, cli, monkeypatch):
    """The reminder run is generic over what `service_deadlines` returns (another part of
    Appointer adds the lifecycle rules): its recipient groups, its days before, and `done`.
    (`service_deadlines` is replaced here by rules that do not exist yet.)"""
    settings, a, b, _ = register

    def rules(service, settings, today):
        if service.id != a:
            return []
        return [Deadline("report_due", a, D("2026-03-15"), "annual report <due> & signed",
                         notify=("service", "all_rhfs"), remind_before_days=(14, 1)),
                Deadline("evaluation_due", a, D("2026-03-10"), "evaluation", done=True)]

    monkeypatch.setattr(deadlines, "service_deadlines", rules)
    cli.today = "2026-03-02"  # a Monday: 13 days before
    cli("remind")
    hits = [(m["template"], m["to"]) for m in queued(settings)
            if "lifecycle.report_due" in m["rules"]]
    assert sorted(hits) == sorted([("reminder.service", "leader@tjeneste-a.example")] + [
        ("reminder.digest", f"{who}@{r}.example") for who in ("coord", "contact")
        for r in ("sor-ost", "vest", "midt", "nord")])
    assert not any("lifecycle.evaluation_due" in m["rules"] for m in queued(settings))
    with dbsql.connect(settings.db) as con:  # a rule without Norwegian words shows its label
        text, html = con.execute("SELECT body_text, body_html FROM outboxmessage WHERE "
                                 "template = 'reminder.digest' LIMIT 1").fetchone()
    assert "annual report <due> & signed – frist 15. mars 2026" in text
    assert "annual report &lt;due&gt; &amp; signed – frist 15. mars 2026" in html
    cli.today = "2026-03-14"
    cli("remind")
    assert [m["to"] for m in queued(settings) if "lifecycle.report_due" in m["rules"]
            and m["template"] == "reminder.service"] == ["leader@tjeneste-a.example"] * 2

    monkeypatch.setattr(deadlines, "service_deadlines", lambda s, settings, today: [
        Deadline("typo", s.id, D("2026-03-20"), "x", notify=("servise",))])
    before = count(settings, "outboxmessage")
    bad = cli("remind", expect=1)
    assert "deadline rule 'typo' names unknown recipient group(s) servise" in bad.stderr
    assert count(settings, "outboxmessage") == before


def test_lifecycle_reminders_speak_norwegian(register, cli):
    """A Norwegian reminder about a lifecycle deadline uses the rule's Norwegian wording from
    workflows/lifecycle.toml, not the English label meant for the terminal."""
    settings, a, b, _ = register
    cli.today = "2026-03-11"  # 30 days before B's establishment is due
    cli("remind")
    mine = [m for m in queued(settings) if "lifecycle.establishment_due" in m["rules"]
            and m["template"] == "reminder.service"]
    assert mine, "the service is reminded"
    assert "Etablert senest ett år etter godkjenningen" in mine[0]["body"]
    assert "established at the latest" not in mine[0]["body"]
