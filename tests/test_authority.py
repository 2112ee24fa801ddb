"""Authority from the seeds (issue 12, part 3): each act tried by a coordinator of the wrong
region is refused with one line saying who may, and stores nothing; by the right one it is
allowed. Answers on someone's behalf need --evidence; decisions of the deciding body need
--decision-ref and are shown as that body's act."""

import dbsql
import pytest
from lifecycle_support import apply, fire

CO = {code: f"coord@{code}.example" for code in ("sor-ost", "vest", "midt", "nord")}
OUS = "Oslo universitetssykehus HF"  # sor-ost hosts service 1


def _state(db_path):
    with dbsql.connect(db_path) as con:
        return [con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                for t in ("appointment", "service", "auditevent", "outboxmessage", "token")]


@pytest.fixture
def service(initialised, cli):
    cli("service", "add", "--name", "Nasjonal X", "--kind", "national", "--hf", OUS,
        "--leader-name", "Leder", "--leader-email", "leder@ous.example", actor=CO["sor-ost"])
    return 1


def _propose(cli, seat, actor, expect=0):
    extra = [] if seat.startswith("user") else [
        "--institution", "UNN" if seat == "region:nord" else "Helse Bergen HF",
        "--leader-name", "Sjef", "--leader-email", "sjef@example.no"]
    return cli("member", "propose", "1", "--seat", seat, "--name", "Kandidat", "--email",
               "k@example.no", *extra, "--share", "5 %", actor=actor, expect=expect)


def _refused(cli, db_path, args, actor, says):
    before = _state(db_path)
    out = cli(*args, actor=actor, expect=1).output
    assert out.startswith("Error: ") and len(out.strip().splitlines()) == 1, out
    assert says in out, out
    assert _state(db_path) == before


def test_proposing_for_another_regions_seat_is_refused(service, cli, db_path):
    """Nord cannot propose for Vest's seat; Vest can."""
    before = _state(db_path)
    out = _propose(cli, "region:vest", CO["nord"], expect=1).output
    assert "only a coordinator of Helse Vest RHF (vest)" in out
    assert _state(db_path) == before
    assert _propose(cli, "region:vest", CO["vest"]).output.startswith("case 1: proposed")


@pytest.mark.parametrize("trigger", ["accept", "decline"])
def test_answering_for_the_candidate(service, cli, db_path, smtp_sink, trigger):
    """Another region may not answer for Vest's candidate, with evidence or without; Vest
    may not without --evidence; with it, the evidence is in the audit and the candidate is
    emailed that a coordinator answered for them."""
    _propose(cli, "region:vest", CO["vest"])
    args = ["member", "advance", "1", trigger]
    _refused(cli, db_path, [*args, "--evidence", "by phone"], CO["nord"],
             "only the candidate (through the link in their email); or a coordinator of "
             "Helse Vest RHF (vest)")
    _refused(cli, db_path, args, CO["vest"], "with --evidence")
    cli(*args, "--evidence", "by phone on 12 March", actor=CO["vest"])
    [row] = cli.json("audit", "list", "--limit", "1")
    assert row["evidence"]["answer_evidence"] == "by phone on 12 March"
    assert row["evidence"]["on_behalf_of"] == "candidate"
    with dbsql.connect(db_path) as con:
        told = con.execute("SELECT to_addrs, body_text FROM outboxmessage WHERE template = "
                           "'appointment.person.answered_for'").fetchall()
    assert len(told) == 1 and "k@example.no" in told[0][0]
    assert "har svart på dine vegne" in told[0][1] and "by phone on 12 March" in told[0][1]


def test_answering_for_the_leader_needs_the_represented_region_and_evidence(service, cli,
                                                                           db_path):
    """consent / refuse for the leader: only the represented region, with --evidence."""
    _propose(cli, "region:nord", CO["nord"])
    cli("member", "advance", "1", "accept", "--evidence", "e-post 3. mars", actor=CO["nord"])
    for trigger in ("consent", "refuse"):
        _refused(cli, db_path, ["member", "advance", "1", trigger, "--evidence", "x"],
                 CO["sor-ost"], "a coordinator of Helse Nord RHF (nord)")
        _refused(cli, db_path, ["member", "advance", "1", trigger], CO["nord"],
                 "with --evidence")
    cli("member", "advance", "1", "consent", "--evidence", "telefon", actor=CO["nord"])
    assert cli.json("member", "show", "1")["state"] == "ready"


def test_withdraw_appoint_and_end_belong_to_the_appointing_region(service, cli, db_path):
    """Withdraw, appoint, reject and end: only the region that appoints the seat."""
    _propose(cli, "region:vest", CO["vest"])
    _refused(cli, db_path, ["member", "advance", "1", "withdraw"], CO["nord"],
             "only a coordinator of Helse Vest RHF (vest)")
    for trigger in ("accept", "consent"):
        cli("member", "advance", "1", trigger, "--evidence", "telefon", actor=CO["vest"])
    for trigger in ("appoint", "reject"):
        _refused(cli, db_path, ["member", "advance", "1", trigger], CO["sor-ost"],
                 "only a coordinator of Helse Vest RHF (vest)")
    cli("member", "advance", "1", "appoint", actor=CO["vest"])
    _refused(cli, db_path, ["member", "advance", "1", "end", "--reason", "sluttet"],
             CO["midt"], "only a coordinator of Helse Vest RHF (vest)")
    cli("member", "advance", "1", "end", "--reason", "sluttet", actor=CO["vest"])


def test_the_services_own_seats_belong_to_the_services_region(service, cli, db_path):
    """The user representative (and the service's seat) are the service's region's to fill."""
    out = _propose(cli, "user:1", CO["vest"], expect=1).output
    assert "only a coordinator of Helse Sør-Øst RHF (sor-ost)" in out
    _propose(cli, "user:1", CO["sor-ost"])
    _refused(cli, db_path, ["member", "advance", "1", "withdraw"], CO["vest"],
             "Helse Sør-Øst RHF (sor-ost)")


def test_the_group_leader_is_designated_by_the_host_region(service, cli, db_path):
    """Only the host region's coordinators (for the host HF) designate the group leader."""
    _propose(cli, "region:nord", CO["nord"])
    for trigger in ("accept", "consent"):
        cli("member", "advance", "1", trigger, "--evidence", "telefon", actor=CO["nord"])
    cli("member", "advance", "1", "appoint", actor=CO["nord"])
    _refused(cli, db_path, ["group", "leader", "1", "1"], CO["nord"],
             "only a coordinator of Helse Sør-Øst RHF (the host region)")
    cli("group", "leader", "1", "1", actor=CO["sor-ost"])


def test_a_decision_is_the_deciding_bodys_act_with_its_reference(initialised, cli, db_path):
    """approve without --decision-ref is refused; with it the history shows the deciding
    body's decision and its reference, recorded by the coordinator, and so does the email."""
    sid = apply(initialised)
    for trigger in ("submit", "prioritise", "send"):
        fire(initialised, sid, trigger)
    _refused(cli, db_path, ["service", "advance", str(sid), "approve"], CO["vest"],
             "this is Helse- og omsorgsdepartementet's decision: record it with --decision-ref")
    cli("service", "advance", str(sid), "approve", "--decision-ref", "HOD 26/4711",
        actor=CO["vest"])
    history = cli("service", "history", str(sid)).output
    assert ("Helse- og omsorgsdepartementet (ref. HOD 26/4711; recorded by coord@vest.example)"
            in history)
    with dbsql.connect(db_path) as con:
        body = con.execute("SELECT body_text FROM outboxmessage WHERE template = "
                           "'lifecycle.notice' ORDER BY id DESC").fetchone()[0]
    assert "Helse- og omsorgsdepartementet godkjente" in body and "HOD 26/4711" in body


def test_a_phase_out_is_initiated_by_the_host_region(initialised, cli, db_path):
    """initiate_phase_out: only the host region's coordinators."""
    cli("service", "add", "--name", "Nasjonal X", "--kind", "national", "--hf", OUS,
        "--established", "2015-01-01", "--leader-name", "L", "--leader-email",
        "l@ous.example", actor=CO["sor-ost"])
    _refused(cli, db_path, ["service", "advance", "1", "initiate_phase_out"], CO["nord"],
             "only a coordinator of the region hosting the service (sor-ost)")
    cli("service", "advance", "1", "initiate_phase_out", actor=CO["sor-ost"])
