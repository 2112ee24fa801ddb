"""The member-appointment workflow from the CLI: every rule with an attempt to break it."""

import dbsql
import pytest
from conftest import ADMIN

CO = {code: f"coord@{code}.example" for code in ("sor-ost", "vest", "midt", "nord")}


@pytest.fixture
def group(initialised, cli):
    """Coordinators in all four regions (`initialised`); service 1: national at OUS
    (sor-ost); service 2: multiregional at OUS (sor-ost) and Helse Bergen (vest)."""
    common = ["--leader-name", "Leder", "--leader-email", "leder@ous.example"]
    cli("service", "add", "--name", "Nasjonal X", "--kind", "national",
        "--hf", "Oslo universitetssykehus HF", *common, actor=ADMIN)
    cli("service", "add", "--name", "Flerregional Y", "--kind", "multiregional",
        "--hf", "Oslo universitetssykehus HF", "--hf", "Helse Bergen HF", *common, actor=ADMIN)
    return cli


def _seat_region(seat):
    """The region that appoints a seat of service 1 or 2 (both hosted at OUS, sor-ost; the
    second location of service 2 is in vest)."""
    return seat.partition(":")[2] if seat.startswith("region:") else (
        "vest" if seat == "service:2" else "sor-ost")


def propose(cli, service, seat, n, institution=None, actor=None, expect=0, **extra):
    actor = actor or CO[_seat_region(seat)]
    args = ["member", "propose", str(service), "--seat", seat, "--name", f"Kandidat {n}",
            "--email", f"k{n}@example.no"]
    if institution:
        args += ["--institution", institution]
    if not seat.startswith("user"):
        args += ["--leader-name", "Sjef", "--leader-email", f"sjef{n}@example.no"]
    for k, v in extra.items():
        args += [f"--{k.replace('_', '-')}", v]
    if expect == 0:
        return cli.json(*args, actor=actor)
    return cli(*args, actor=actor, expect=expect)


def advance(cli, case_id, trigger, actor, expect=0, *more):
    """As `actor`; an answer (accept, decline, consent, refuse) is given on the person's
    behalf, with evidence, unless `more` says otherwise."""
    if actor is None:  # a coordinator of the region that appoints the seat
        actor = CO[cli.json("member", "show", str(case_id))["appointing_region"]]
    if trigger in ("accept", "decline", "consent", "refuse") and "--evidence" not in more:
        more = (*more, "--evidence", "by phone")
    if expect == 0:
        return cli.json("member", "advance", str(case_id), trigger, *more, actor=actor)
    return cli("member", "advance", str(case_id), trigger, *more, actor=actor, expect=expect)


def appoint_fully(cli, case, region):
    advance(cli, case["id"], "accept", None)
    if not case["seat"].startswith("user"):
        advance(cli, case["id"], "consent", None)
    return advance(cli, case["id"], "appoint", CO[region])


def rows(db_path, sql):
    with dbsql.connect(db_path) as con:
        return con.execute(sql).fetchall()


def test_a_member_goes_proposed_accepted_consented_appointed(group, db_path):
    """The core path: each trigger moves one step, prints id and state, audits who did it."""
    case = propose(group, 1, "region:nord", 1, "Universitetssykehuset Nord-Norge HF",
                   share="5 %")
    assert (case["id"], case["state"]) == (1, "proposed")
    assert case["allowed"] == ["accept", "decline", "withdraw"]
    assert advance(group, 1, "accept", None)["state"] == "awaiting_consent"
    assert advance(group, 1, "consent", None)["state"] == "ready"
    done = advance(group, 1, "appoint", CO["nord"])
    assert done["state"] == "appointed" and done["appointed_on"] == "2026-03-02"
    text = group("member", "advance", "1", "end", "--reason", "long absence",
                 actor=CO["nord"]).output
    assert text.startswith("case 1: ended")
    history = group.json("member", "history", "1")
    assert [(h["trigger"], h["from"], h["to"], h["actor"]) for h in history] == [
        ("propose", None, "proposed", CO["nord"]),
        ("accept", "proposed", "awaiting_consent", CO["nord"]),
        ("consent", "awaiting_consent", "ready", CO["nord"]),
        ("appoint", "ready", "appointed", CO["nord"]),
        ("end", "appointed", "ended", CO["nord"]),
    ]


def test_a_trigger_not_allowed_now_is_refused_with_the_allowed_ones(group, db_path):
    """A wrong trigger names what is allowed, exits non-zero and changes nothing."""
    propose(group, 1, "region:nord", 1, "Universitetssykehuset Nord-Norge HF")
    before = rows(db_path, "SELECT state, version_id FROM appointment")
    out = advance(group, 1, "appoint", CO["nord"], expect=1).output
    assert "'appoint' is not allowed now" in out and "allowed: accept, decline, withdraw" in out
    out = advance(group, 1, "promote", CO["nord"], expect=1).output
    assert "not a trigger" in out
    assert rows(db_path, "SELECT state, version_id FROM appointment") == before
    assert len(rows(db_path, "SELECT * FROM auditevent WHERE case_type = 'appointment'")) == 1


def test_only_the_region_the_member_represents_may_appoint(group, db_path):
    """appoint/reject/end belong to the RHF of the member's region; others are told who may."""
    propose(group, 1, "region:midt", 1, "St. Olavs hospital HF")
    advance(group, 1, "accept", None)
    advance(group, 1, "consent", None)
    for region in ("sor-ost", "vest", "nord"):
        out = advance(group, 1, "appoint", CO[region], expect=1).output
        assert "only a coordinator of Helse Midt-Norge RHF (midt)" in out
        out = advance(group, 1, "reject", CO[region], expect=1).output
        assert "Helse Midt-Norge RHF" in out
    assert rows(db_path, "SELECT state FROM appointment") == [("ready",)]
    assert advance(group, 1, "appoint", CO["midt"])["state"] == "appointed"


def test_service_and_user_seats_are_appointed_by_the_service_region(group):
    """The service's own seat and user representatives: the region where the service is;
    for a multiregional service, the region of that location."""
    svc = propose(group, 1, "service", 1, "Oslo universitetssykehus HF")
    user = propose(group, 1, "user", 2)
    loc2 = propose(group, 2, "service:2", 3, "Helse Bergen HF")
    assert (svc["appointing_region"], user["appointing_region"], loc2["appointing_region"]) == (
        "sor-ost", "sor-ost", "vest")
    assert user["seat"] == "user:1"
    advance(group, loc2["id"], "accept", None)
    advance(group, loc2["id"], "consent", None)
    assert "Helse Vest RHF" in advance(group, loc2["id"], "appoint", CO["sor-ost"], expect=1).output
    assert advance(group, loc2["id"], "appoint", CO["vest"])["state"] == "appointed"


def test_unknown_or_missing_actor_is_refused(group, db_path):
    """Changes need a registered coordinator from --as or APPOINTER_ACTOR."""
    args = ["member", "propose", "1", "--seat", "user", "--name", "U", "--email", "u@example.no"]
    assert "who is acting" in group(*args, expect=1).output
    assert "not a registered coordinator" in group(*args, actor="nobody@example.no",
                                                   expect=1).output
    assert group.json(*args, env={"APPOINTER_ACTOR": CO["sor-ost"]})["state"] == "proposed"
    assert rows(db_path, "SELECT actor FROM auditevent WHERE case_type = 'appointment'") == [
        (CO["sor-ost"],)]


def test_user_representative_skips_the_leader(group):
    """A user representative has no line manager: accept leads straight to ready, and giving
    a leader is refused."""
    out = group("member", "propose", "1", "--seat", "user", "--name", "U", "--email",
                "u@example.no", "--leader-name", "L", "--leader-email", "l@example.no",
                actor=CO["vest"], expect=1).output
    assert "no line manager" in out
    case = propose(group, 1, "user", 1)
    assert advance(group, case["id"], "accept", None)["state"] == "ready"
    assert "not allowed" in advance(group, case["id"], "consent", None, expect=1).output


def test_non_user_seats_need_the_leader_who_clears_participation(group, db_path):
    """Participation must be cleared with the candidate's leader: no leader, no proposal."""
    out = group("member", "propose", "1", "--seat", "region:nord", "--name", "N", "--email",
                "n@example.no", "--institution", "Nordlandssykehuset HF", actor=CO["nord"],
                expect=1).output
    assert "--leader-name and --leader-email" in out
    assert rows(db_path, "SELECT count(*) FROM appointment") == [(0,)]


def test_one_member_per_region_and_no_deputies(group, db_path):
    """A seat holds one case at a time: a second proposal, or a 'deputy' while a member is
    appointed, is refused; after `end` the seat is vacant and can be filled again."""
    first = propose(group, 1, "region:vest", 1, "Helse Bergen HF")
    out = propose(group, 1, "region:vest", 2, "Helse Fonna HF", expect=1).output
    assert f"already has case {first['id']}" in out
    appoint_fully(group, first, "vest")
    out = propose(group, 1, "region:vest", 2, "Helse Fonna HF", expect=1).output
    assert "no deputies" in out
    out = group("member", "advance", str(first["id"]), "end", actor=CO["vest"], expect=1).output
    assert "--reason" in out
    group("member", "advance", str(first["id"]), "end", "--reason", "left the position",
          actor=CO["vest"])
    assert propose(group, 1, "region:vest", 2, "Helse Fonna HF")["state"] == "proposed"
    assert rows(db_path, "SELECT count(*) FROM appointment WHERE seat='region:vest'") == [(2,)]


def test_regional_member_comes_from_that_region(group):
    """The member for a region works in that region."""
    out = propose(group, 1, "region:nord", 1, "Helse Bergen HF", expect=1).output
    assert "one member per region, from that region" in out


def test_member_for_the_service_region_comes_from_another_institution(group):
    """The member for the service's own region comes from another HF than the host (§3)."""
    out = propose(group, 1, "region:sor-ost", 1, "Oslo universitetssykehus HF", expect=1).output
    assert "another institution than the host" in out
    assert propose(group, 1, "region:sor-ost", 1, "Akershus universitetssykehus HF")["id"] == 1
    # multiregional: both host regions are the service's own
    out = propose(group, 2, "region:vest", 2, "Helse Bergen HF", expect=1).output
    assert "another institution than the host" in out


def test_multiregional_service_has_one_service_seat_per_location(group):
    """A multiregional service names the location; each location's seat is its own."""
    out = propose(group, 2, "service", 1, "Oslo universitetssykehus HF", expect=1).output
    assert "service:1 = Oslo universitetssykehus HF" in out
    out = propose(group, 2, "service:1", 1, "Helse Bergen HF", expect=1).output
    assert "not that location" in out
    assert propose(group, 2, "service:1", 1, "Oslo universitetssykehus HF")["seat"] == "service:1"
    assert propose(group, 2, "service:2", 2, "Helse Bergen HF")["seat"] == "service:2"
    seats = {s["seat"]: s for s in group.json("group", "show", "2")["seats"]}
    assert seats["service:1"]["status"] == seats["service:2"]["status"] == "pending"


def test_request_then_propose_fills_the_same_case(group):
    """No candidate: the region is asked; the region's proposal continues that case."""
    req = group.json("member", "request", "1", "--seat", "region:nord", actor=CO["sor-ost"])
    assert req["state"] == "requested" and req["candidate_name"] is None
    case = propose(group, 1, "region:nord", 1, "Finnmarkssykehuset HF", actor=CO["nord"])
    assert case["id"] == req["id"] and case["state"] == "proposed"
    out = group("member", "request", "1", "--seat", "region:nord", actor=CO["sor-ost"],
                expect=1).output
    assert "already has case" in out


def test_same_person_cannot_hold_two_seats(group):
    """One person, one seat in a group."""
    propose(group, 1, "region:vest", 1, "Helse Bergen HF")
    out = group("member", "propose", "1", "--seat", "user", "--name", "K", "--email",
                "k1@example.no", actor=CO["vest"], expect=1).output
    assert "one person holds one seat" in out


def test_missing_share_is_a_warning_not_an_error(group):
    """The share of a position *should* be stated: warned, not refused."""
    result = group("member", "propose", "1", "--seat", "user", "--name", "U", "--email",
                   "u@example.no", actor=CO["sor-ost"])
    assert "Warning:" in result.stderr and "share" in result.stderr
    assert result.stdout.startswith("case 1: proposed")


def test_group_leader_rules(group, db_path):
    """The leader is an appointed regional member from a region where the service is not."""
    own = propose(group, 1, "region:sor-ost", 1, "Akershus universitetssykehus HF")
    other = propose(group, 1, "region:nord", 2, "Helgelandssykehuset HF")
    out = group("group", "leader", "1", str(other["id"]), actor=CO["sor-ost"], expect=1).output
    assert "only an appointed member" in out
    appoint_fully(group, own, "sor-ost")
    appoint_fully(group, other, "nord")
    out = group("group", "leader", "1", str(own["id"]), actor=CO["sor-ost"], expect=1).output
    assert "not belong to a region where the service is located" in out
    group("group", "leader", "1", str(other["id"]), actor=CO["sor-ost"])
    status = group.json("group", "show", "1")
    assert status["leader"]["id"] == other["id"]
    assert "no group leader designated" not in status["problems"]
    group("member", "advance", str(other["id"]), "end", "--reason", "left", actor=CO["nord"])
    assert "no group leader designated" in group.json("group", "show", "1")["problems"]


def test_group_show_lists_seats_holders_and_gaps(group):
    """`group show` states each seat, who holds it in which state, and what is missing."""
    case = propose(group, 1, "region:vest", 1, "Helse Bergen HF")
    appoint_fully(group, case, "vest")
    status = group.json("group", "show", "1")
    assert status["id"] == 1 and status["state"] == "incomplete"
    seats = {s["seat"]: s for s in status["seats"]}
    assert list(seats) == ["region:sor-ost", "region:vest", "region:midt", "region:nord",
                           "service", "user:1"]
    assert seats["region:vest"]["member"]["name"] == "Kandidat 1"
    assert seats["region:nord"]["status"] == "vacant"
    assert "no member for Helse Nord RHF" in status["problems"]
    assert "no user representative" in status["problems"]
    text = group("group", "show", "1").output
    assert "region:vest" in text and "Kandidat 1" in text and "Missing or wrong" in text


def test_every_transition_writes_one_audit_row_with_its_comment(group, db_path):
    """Each change commits with exactly one audit row (who, when, from, to, trigger, why)."""
    case = propose(group, 1, "user", 1)
    group("member", "advance", str(case["id"]), "withdraw", "--comment", "wrong person",
          actor=CO["sor-ost"])
    audit = rows(db_path, "SELECT trigger, from_state, to_state, actor, comment, at "
                          "FROM auditevent WHERE case_type = 'appointment' ORDER BY id")
    assert [a[:5] for a in audit] == [
        ("propose", None, "proposed", CO["sor-ost"], None),
        ("withdraw", "proposed", "withdrawn", CO["sor-ost"], "wrong person"),
    ]
    assert all(a[5] for a in audit)
    assert "nothing can happen" in advance(group, case["id"], "accept", None,
                                           expect=1).output
