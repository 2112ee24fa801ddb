"""A year of one reference group, walked day by day with `appointer --today D remind`: exactly
which reminders went to whom, and when the coordinators' weekly digests went out."""

from __future__ import annotations

import datetime as dt

import dbsql
import pytest
from oversight_helpers import add_service, advance, appoint, coord, propose, queued

from appointer import appointments, db
from appointer.clock import Clock

D = dt.date.fromisoformat
SERVICE_LEADER = "leader@tjeneste-a.example"
GROUP_LEADER = "region-midt-1@member.example"  # the member for Helse Midt-Norge
VERA, NILS = "vera@member.example", "nils@member.example"


def _setup(settings):
    """Before the walk: a group with four of six seats appointed on 1 December 2025, the
    member for Helse Midt-Norge designated leader, a meeting on 10 December."""
    sid = add_service(settings, D("2025-12-01"), "Tjeneste A")
    ids = {seat: appoint(settings, D("2025-12-01"), sid, seat, seat.replace(":", "-") + f"-{sid}")
           for seat in ("region:sor-ost", "region:midt", "service", "user:1")}
    with db.transaction(settings, Clock(D("2025-12-01"))) as tx:
        actor = appointments.resolve_actor(tx.session, coord("sor-ost"))
        appointments.designate_leader(tx, sid, ids["region:midt"], actor)
    return sid, ids


@pytest.mark.slow
def test_a_year_of_reminders_goes_to_exactly_the_right_people(initialised, cli):
    """Cron runs every day for a year: each person gets each reminder once, on the day it
    falls due; coordinators get only their region's Monday digest, and only when something
    in their region is due or late."""
    settings = initialised
    sid, ids = _setup(settings)
    cli("--as", coord("sor-ost"), "group", "meeting", str(sid), "--date", "2025-12-10")
    cases: dict[str, int] = {}

    def on(day: str):
        """What happens on a day of the walk, before that day's cron run."""
        d = D(day)
        if day == "2026-01-05":
            cases["vera"] = propose(settings, d, sid, "region:vest", "vera")
            cases["nils"] = propose(settings, d, sid, "region:nord", "nils")
        elif day == "2026-01-08":
            advance(settings, d, cases["nils"], "accept")  # → awaiting his leader
        elif day == "2026-02-03":
            advance(settings, d, cases["nils"], "consent")  # → ready for Helse Nord
        elif day == "2026-02-12":
            advance(settings, d, cases["vera"], "withdraw")  # seat region:vest vacant
        elif day == "2026-03-04":
            cli.today = day
            cli("member", "advance", str(cases["nils"]), "appoint", actor=coord("nord"))
        elif day == "2026-04-01":
            cases["vilde"] = propose(settings, d, sid, "region:vest", "vilde")
        elif day in ("2026-04-02", "2026-04-03", "2026-04-06"):
            trigger = {"2026-04-02": "accept", "2026-04-03": "consent", "2026-04-06": "appoint"}
            advance(settings, d, cases["vilde"], trigger[day])
        elif day == "2026-04-20":
            cli.today = day
            cli("member", "absence", str(ids["region:midt"]), "--since", "2026-04-15",
                actor=coord("midt"))
        elif day == "2026-09-30":
            cli.today = day
            cli("member", "absence", str(ids["region:midt"]), "--clear", actor=coord("midt"))
        elif day == "2026-10-20":
            cli.today = day
            cli("group", "meeting", str(sid), "--date", day, actor=coord("sor-ost"))

    personal, digests = [], []
    last = 0
    day = D("2026-01-05")
    while day <= D("2026-12-31"):
        on(day.isoformat())
        cli.today = day.isoformat()
        cli("remind")
        for m in queued(settings, last):
            last = m["id"]
            if m["template"] == "reminder.digest":
                digests.append((day.isoformat(), m["to"]))
            else:
                personal.append((day.isoformat(), m["template"], m["to"], m["rules"]))
        day += dt.timedelta(days=1)

    assert sorted(personal) == sorted([
        # Vera never answers: a reminder after one week, another after two (the escalation
        # after three goes to Helse Vest's digest).
        ("2026-01-12", "reminder.case.candidate", VERA, ["appointment.proposed.remind"]),
        # Nils accepted on 8 January; his leader is reminded one and two weeks later.
        ("2026-01-15", "reminder.case.leader", "boss.nils@member.example",
         ["appointment.awaiting_consent.remind"]),
        ("2026-01-19", "reminder.case.candidate", VERA, ["appointment.proposed.remind"]),
        ("2026-01-22", "reminder.case.leader", "boss.nils@member.example",
         ["appointment.awaiting_consent.remind"]),
        # Vera's case withdrawn on 12 February: the seat is vacant; the service is told two
        # weeks later and every 30 days until a new candidate is proposed on 1 April.
        ("2026-02-26", "reminder.service", SERVICE_LEADER, ["group.vacant_seat:region:vest"]),
        ("2026-03-28", "reminder.service", SERVICE_LEADER, ["group.vacant_seat:region:vest"]),
        # The leader absent since 15 April: long absence after 90 days (14 July), reminded two
        # weeks later and every 30 days until the absence is cleared on 30 September.
        ("2026-07-28", "reminder.service", SERVICE_LEADER, ["group.long_absence"]),
        ("2026-08-27", "reminder.service", SERVICE_LEADER, ["group.long_absence"]),
        # No meeting recorded in 2026 by 1 September: the group leader and the service, then
        # every 30 days until the meeting of 20 October is recorded.
        ("2026-09-01", "reminder.service", SERVICE_LEADER, ["group.no_meeting.2026"]),
        ("2026-09-01", "reminder.service", GROUP_LEADER, ["group.no_meeting.2026"]),
        ("2026-09-26", "reminder.service", SERVICE_LEADER, ["group.long_absence"]),
        ("2026-10-01", "reminder.service", SERVICE_LEADER, ["group.no_meeting.2026"]),
        ("2026-10-01", "reminder.service", GROUP_LEADER, ["group.no_meeting.2026"]),
    ])

    def mondays(first: str, last_: str) -> list[str]:
        out, d = [], D(first)
        while d <= D(last_):
            out.append(d.isoformat())
            d += dt.timedelta(days=7)
        return out

    expected = []
    for region, weeks in [
        ("vest", mondays("2026-01-12", "2026-02-09")  # Vera's case, late from 12 January
         + mondays("2026-03-02", "2026-03-30")),  # the vacant seat, reminded from 26 February
        ("nord", mondays("2026-01-19", "2026-02-02")  # Nils's leader, late from 15 January
         + mondays("2026-02-16", "2026-03-02")),  # ready from 3 February, late from the 10th
        ("midt", mondays("2026-08-03", "2026-09-28")),  # the long absence, 28 July–30 Sept
        ("sor-ost", mondays("2026-09-07", "2026-10-19")),  # no meeting (the host region)
    ]:
        for week in weeks:
            expected += [(week, coord(region)), (week, f"contact@{region}.example")]
    assert sorted(digests) == sorted(expected)

    # The escalations reached the region through the digest, once, in the first one after
    # they fell due.
    con = dbsql.connect(settings.db)
    rows = con.execute(
        "SELECT r.rule, r.subject_id, r.due_on, d.due_on FROM reminderlog r "
        "JOIN reminderlog d ON d.outbox_id = r.outbox_id AND d.rule = 'digest' "
        "WHERE r.rule LIKE '%.escalate' AND r.recipient LIKE 'coord@%' ORDER BY r.id").fetchall()
    con.close()
    assert rows == [
        ("appointment.proposed.escalate", cases["vera"], "2026-01-26", "2026-01-26"),
        ("appointment.awaiting_consent.escalate", cases["nils"], "2026-01-29", "2026-02-02"),
        ("appointment.ready.escalate", cases["nils"], "2026-02-24", "2026-03-02"),
    ]
