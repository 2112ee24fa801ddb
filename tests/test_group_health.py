"""Reference-group oversight: `group show` states a group's health, `group meeting` and
`member absence` record what the rules need, and `groups --gaps` lists every group that breaks
a rule (`000` §2–4)."""

from __future__ import annotations

import datetime as dt

import dbsql
import pytest
from oversight_helpers import add_service, appoint, coord, count, full_group, propose

from appointer import db
from appointer.clock import Clock
from appointer.models import Service

D = dt.date.fromisoformat
DAY = D("2025-11-03")


@pytest.fixture
def group(initialised):
    """A national service at Oslo universitetssykehus (Helse Sør-Øst) with a complete group
    appointed on 3 November 2025 and the member for Helse Nord as leader."""
    sid = add_service(initialised, DAY, "Tjeneste A")
    return initialised, sid, full_group(initialised, DAY, sid)


def test_a_complete_group_is_healthy_and_shows_its_last_meeting(group, cli):
    """A complete group with a meeting this year breaks no rule; show says when it last met."""
    settings, sid, _ = group
    cli("group", "meeting", str(sid), "--date", "2026-02-10", "--note", "digital",
        actor=coord("vest"))
    data = cli.json("group", "show", str(sid))
    assert data["state"] == "complete" and data["problems"] == []
    assert data["last_meeting"] == "2026-02-10"
    assert "last meeting: 2026-02-10" in cli("group", "show", str(sid)).stdout
    assert cli.json("groups", "--gaps") == []
    assert "No group breaks a rule." in cli("groups", "--gaps").stdout


def test_vacant_seats_and_a_missing_leader_are_named_with_the_region_that_must_act(
        initialised, cli):
    """An approved service with a half-built group: each vacant seat, and the missing
    leader, is a problem for a named region."""
    sid = add_service(initialised, DAY, "Tjeneste B", hosts=("Helse Bergen HF",))
    appoint(initialised, DAY, sid, "region:nord", "nora")
    appoint(initialised, DAY, sid, "service", "sam", institution="Helse Bergen HF")
    propose(initialised, DAY, sid, "region:midt", "mia")
    data = cli.json("group", "show", str(sid))
    issues = {(i["rule"], i["seat"], i["region"]) for i in data["issues"]}
    assert issues == {
        ("vacant_seat", "region:sor-ost", "sor-ost"),
        ("vacant_seat", "region:vest", "vest"),
        ("pending_seat", "region:midt", "midt"),
        ("vacant_seat", "user:1", "vest"),  # user representatives: the host region
        ("no_leader", None, "vest"),
    }
    assert "no user representative" in data["problems"]
    assert "no member for Helse Midt-Norge RHF (case 3 is proposed)" in data["problems"]


def test_a_leader_from_the_host_region_and_two_members_from_one_region_are_flagged(group, cli):
    """Legacy data can hold a leader from the service's own region (the webinar saw it), and a
    member on an extra seat can make a second member from one region: both are flagged."""
    settings, sid, ids = group
    with db.transaction(settings, Clock(DAY)) as tx:  # as imported from an older register
        tx.session.get(Service, sid).group_leader_id = ids["region:sor-ost"]
    appoint(settings, DAY, sid, "other:1", "olga", institution="Helse Stavanger HF")
    data = cli.json("group", "show", str(sid))
    assert {i["rule"] for i in data["issues"]} == {"leader_in_host_region", "region_twice:vest"}
    assert any("2 members represent Helse Vest RHF" in p for p in data["problems"])
    assert "the group leader belongs to a region where the service is located" in data["problems"]


def test_absence_becomes_long_absence_after_the_limit_and_can_be_cleared(group, cli):
    """`member absence` records an absence; after APPOINTER_LONG_ABSENCE_DAYS (90) it is long
    absence the group must act on; `--clear` ends it. Both are in the audit history."""
    settings, sid, ids = group
    mid = ids["region:midt"]
    cli("group", "meeting", str(sid), "--date", "2026-01-20", actor=coord("vest"))
    cli.today = "2026-03-02"
    cli("member", "absence", str(mid), "--since", "2026-01-15", actor=coord("midt"))
    data = cli.json("group", "show", str(sid))
    assert data["absent"][0]["id"] == mid and data["problems"] == []
    assert "since 2026-01-15" in cli("member", "show", str(mid)).stdout
    cli.today = "2026-04-15"  # 90 days after 15 January
    data = cli.json("group", "show", str(sid))
    assert [i["rule"] for i in data["issues"]] == ["long_absence"]
    assert data["issues"][0]["member_id"] == mid and data["issues"][0]["region"] == "midt"
    assert [g["id"] for g in cli.json("groups", "--gaps", "--region", "midt")] == [sid]
    assert cli.json("groups", "--gaps", "--region", "vest") == []
    cli("member", "absence", str(mid), "--clear", actor=coord("midt"))
    assert cli.json("group", "show", str(sid))["state"] == "complete"
    history = cli.json("member", "history", str(mid))
    assert [h["comment"] for h in history if h["trigger"] == "absence"] == [
        "absent since 2026-01-15", "back (absent since 2026-01-15)"]


def test_a_year_without_a_meeting_is_flagged(initialised, cli):
    """The mandate asks for a meeting a year: last year without one is flagged at once; this
    year without one from the meeting date (1 September) on. A group formed after that
    year's meeting date need not have met that year."""
    settings = initialised
    sid = add_service(settings, D("2025-03-03"), "Tjeneste C")
    full_group(settings, D("2025-03-03"), sid)
    late = add_service(settings, D("2025-09-02"), "Tjeneste D")
    full_group(settings, D("2025-09-02"), late)
    cli.today = "2026-05-01"
    data = cli.json("group", "show", str(sid))
    assert data["problems"] == ["no meeting recorded in 2025"]
    assert cli.json("group", "show", str(late))["problems"] == []
    cli("group", "meeting", str(sid), "--date", "2025-12-01", actor=coord("nord"))
    assert cli.json("group", "show", str(sid))["problems"] == []
    cli.today = "2026-09-01"
    assert cli.json("group", "show", str(sid))["problems"] == [
        "no meeting recorded in 2026 by 2026-09-01 (the mandate asks for at least one a year)"]
    gaps = cli.json("groups", "--gaps", "--region", "sor-ost")  # the host region follows it up
    assert [g["id"] for g in gaps] == [sid, late]


def test_groups_lists_every_group_and_gaps_only_those_breaking_a_rule(group, cli):
    """`groups` lists all groups with their state; `--gaps` only those with a problem, and
    `--region` only what that region must act on."""
    settings, a, _ = group
    cli("group", "meeting", str(a), "--date", "2026-01-10", actor=coord("nord"))
    b = add_service(settings, DAY, "Tjeneste B", hosts=("Helse Bergen HF",))
    full_group(settings, DAY, b, skip=("region:nord",), leader_seat="region:midt",
               institutions={"region:vest": "Helse Stavanger HF", "service": "Helse Bergen HF"})
    cli("group", "meeting", str(b), "--date", "2026-01-10", actor=coord("nord"))
    assert [(g["id"], g["state"]) for g in cli.json("groups")] == [(a, "complete"),
                                                                   (b, "incomplete")]
    assert [g["id"] for g in cli.json("groups", "--gaps")] == [b]
    assert cli.json("groups", "--gaps", "--region", "Helse Nord")[0]["problems"] == [
        "no member for Helse Nord RHF"]
    assert cli.json("groups", "--gaps", "--region", "vest") == []
    text = cli("groups", "--gaps").stdout
    assert "Tjeneste B (vest)" in text and "- no member for Helse Nord RHF" in text


@pytest.mark.parametrize("args, code, message", [
    (["group", "meeting", "1", "--date", "2026-03-03"], 1, "is in the future"),
    (["group", "meeting", "1", "--date", "2026-13-01"], 2, "not a date"),
    (["group", "meeting", "99", "--date", "2026-03-01"], 1, "no service '99'"),
    (["member", "absence", "1"], 2, "give either --since YYYY-MM-DD or --clear"),
    (["member", "absence", "1", "--since", "2026-01-01", "--clear"], 2, "either"),
    (["member", "absence", "1", "--since", "2026-04-01"], 1, "is in the future"),
    (["member", "absence", "1", "--since", "2025-10-01"], 1, "cannot begin before"),
    (["member", "absence", "1", "--clear"], 1, "has no absence recorded"),
])
def test_bad_meeting_and_absence_input_is_refused_and_changes_nothing(group, cli, args, code,
                                                                     message):
    """Each rule is named in the message; the exit status is 1 (or 2 for a malformed
    option); nothing is stored."""
    settings = group[0]
    before = (count(settings, "meeting"), count(settings, "auditevent"))
    result = cli(*args, actor=coord("vest"), expect=code)
    assert message in result.output
    assert (count(settings, "meeting"), count(settings, "auditevent")) == before


def test_a_meeting_is_recorded_once_and_only_for_a_member_in_post(group, cli):
    """The same meeting twice is refused; absence is for appointed members only; both need
    a registered coordinator."""
    settings, sid, _ = group
    cli("group", "meeting", str(sid), "--date", "2026-01-10", actor=coord("vest"))
    again = cli("group", "meeting", str(sid), "--date", "2026-01-10", actor=coord("vest"),
                expect=1)
    assert "already recorded" in again.output
    pending = propose(settings, DAY, sid, "other:1", "otto", institution="Helse Stavanger HF")
    refused = cli("member", "absence", str(pending), "--since", "2026-01-01",
                  actor=coord("vest"), expect=1)
    assert "appointed members only" in refused.output
    nobody = cli("group", "meeting", str(sid), "--date", "2026-01-11", expect=1)
    assert "who is acting?" in nobody.output
    con = dbsql.connect(settings.db)
    assert con.execute("SELECT COUNT(*) FROM meeting").fetchone()[0] == 1
    con.close()
