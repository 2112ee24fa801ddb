"""Two coordinators at once: exactly one wins, the other is told, nothing is lost."""

import subprocess
import sys
import threading

import dbsql
import pytest
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from appointer import appointments, db, engine, services
from appointer.errors import Conflict, NotAllowed
from appointer.models import Appointment


@pytest.fixture
def ready_case(initialised, clock):
    """Case 1: a member for Helse Nord, ready to be appointed."""
    settings = initialised
    with db.transaction(settings, clock) as tx:
        services.add_service(tx, name="Nasjonal X", kind="national",
                             hosts=["Oslo universitetssykehus HF"], leader_name="L",
                             leader_email="l@ous.example")
        actor = appointments.resolve_actor(tx.session, "coord@nord.example")
        fired, _ = appointments.propose_member(
            tx, 1, "region:nord", name="N", email="n@unn.example",
            institution="Universitetssykehuset Nord-Norge HF", leader_name="S",
            leader_email="s@unn.example", share="5 %", represents=None, actor=actor)
    for trigger in ("accept", "consent"):
        with db.transaction(settings, clock) as tx:
            appointments.advance(tx, fired.case.id, trigger, actor, evidence="telefon")
    return settings


def audit_rows(settings):
    path = settings.db_url.removeprefix("sqlite:///")
    with dbsql.connect(path) as con:
        return con.execute("SELECT trigger FROM auditevent WHERE case_id=1 ORDER BY id").fetchall()


def test_two_connections_one_wins_the_other_is_told(ready_case, clock):
    """Both coordinators read the case, both fire; the second commit is refused as 'changed
    meanwhile' and the database holds one transition, not a lost update. (Deferred units of
    work, as on a database without SQLite's up-front write lock: the CLI's own units take the
    lock first, so there the second simply waits and then finds the case decided.)"""
    settings = ready_case
    first = db.transaction(settings, clock, write=False)
    second = db.transaction(settings, clock, write=False)
    tx1 = first.__enter__()
    tx2 = second.__enter__()
    actor = appointments.resolve_actor(tx1.session, "coord@nord.example")
    appointments.get_case(tx1.session, 1)
    appointments.get_case(tx2.session, 1)  # both have read state 'ready'
    appointments.advance(tx1, 1, "appoint", actor)
    first.__exit__(None, None, None)  # the first coordinator commits
    try:
        appointments.advance(tx2, 1, "reject", actor, comment="the other coordinator")
    except NotAllowed as exc:  # PostgreSQL reads committed data at each statement: the
        # second coordinator's step finds the case decided
        assert dbsql.is_postgres(settings.db) and "not allowed now" in str(exc)
        second.__exit__(type(exc), exc, exc.__traceback__)
    except Exception as exc:  # SQLite: the stale write fails at once; the transaction maps it
        with pytest.raises(Conflict, match="changed meanwhile"):
            second.__exit__(type(exc), exc, exc.__traceback__)
    else:
        pytest.fail("a write based on a stale read went through")
    with Session(db.get_engine(settings)) as s:
        assert appointments.get_case(s, 1).state == "appointed"
    assert [r[0] for r in audit_rows(settings)][-1:] == ["appoint"]
    assert ("reject",) not in audit_rows(settings)


def test_stale_version_is_refused_even_without_sqlite_locking(ready_case, clock):
    """The optimistic lock (version_id) alone refuses a write based on a stale read — the
    guard that protects PostgreSQL installs, where there is no SQLite snapshot error."""
    settings = ready_case
    engine = db.get_engine(settings)
    with Session(engine, expire_on_commit=False) as s:
        stale = s.get(Appointment, 1)  # through the ORM, as rows other than cases are written
        s.commit()  # the read transaction ends; the object keeps version it saw
        with db.transaction(settings, clock) as tx:
            appointments.advance(tx, 1, "appoint",
                                 appointments.resolve_actor(tx.session, "coord@nord.example"))
        stale.state = "rejected"
        with pytest.raises(StaleDataError) as caught:
            s.commit()
        assert db.is_conflict(caught.value)
    with Session(engine) as s:
        assert appointments.get_case(s, 1).state == "appointed"


def test_the_engine_refuses_to_write_a_case_read_before_another_change(ready_case, clock):
    """The engine's own version-checked write (not only the ORM's): firing on a case read
    before someone else changed it fails as a conflict and writes nothing."""
    settings = ready_case
    with db.transaction(settings, clock) as tx:
        stale = appointments.get_case(tx.session, 1)  # read in state 'ready'
        actor = appointments.resolve_actor(tx.session, "coord@nord.example")
    with db.transaction(settings, clock) as tx:
        appointments.advance(tx, 1, "appoint", actor)
    with pytest.raises(Conflict, match="changed meanwhile"):
        with db.transaction(settings, clock) as tx:
            engine.fire(tx, appointments.load_workflow(tx), stale, "reject", actor)
    with Session(db.get_engine(settings)) as s:
        assert appointments.get_case(s, 1).state == "appointed"
    assert ("reject",) not in audit_rows(settings)


def test_each_transition_writes_its_case_once(ready_case):
    """propose, accept, consent: three transitions, three audit rows, and the case's version
    went up once per transition (a second, hidden write would have bumped it again)."""
    path = ready_case.db_url.removeprefix("sqlite:///")
    with dbsql.connect(path) as con:
        version, state = con.execute(
            "SELECT version_id, state FROM appointment WHERE id=1").fetchone()
        triggers = [r[0] for r in con.execute(
            "SELECT trigger FROM auditevent WHERE case_type='appointment' AND case_id=1")]
    assert (version, state) == (3, "ready")
    assert triggers == ["propose", "accept", "consent"]


CLI_RACE = """
import sys
from appointer.cli import main
sys.argv = ["appointer", "--db", sys.argv[1], "--as", "coord@nord.example",
            "member", "advance", "1", sys.argv[2]]
main()
"""


@pytest.mark.slow
def test_two_processes_racing_one_transition(ready_case):
    """Two `member advance` processes at the same moment: one succeeds, the other exits
    non-zero with a clear message, and exactly one transition is recorded."""
    path = ready_case.db_url.removeprefix("sqlite:///")
    db.dispose_all()
    barrier = threading.Barrier(2)
    results = {}

    def run(trigger):
        barrier.wait()
        results[trigger] = subprocess.run([sys.executable, "-c", CLI_RACE, path, trigger],
                                          capture_output=True, text=True, timeout=60)

    threads = [threading.Thread(target=run, args=(t,)) for t in ("appoint", "reject")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.returncode for r in results.values())
    assert codes == [0, 1], {k: (r.returncode, r.stderr) for k, r in results.items()}
    loser = next(r for r in results.values() if r.returncode == 1)
    assert ("changed meanwhile" in loser.stderr) or ("is not allowed now" in loser.stderr), \
        loser.stderr
    decided = [r[0] for r in audit_rows(ready_case) if r[0] in ("appoint", "reject")]
    assert len(decided) == 1


def _race(settings, clock, pairs: list[tuple[int, int]]) -> list[str]:
    """Each pair: two coordinators (threads, each with its own connection) fire `accept` on
    their case at the same instant. Returns what each got: "ok", "conflict" or "refused"."""
    from appointer.errors import NotAllowed

    outcomes: list[str] = []
    lock = threading.Lock()

    def act(barrier, case_id):
        barrier.wait()
        try:
            with db.transaction(settings, clock) as tx:
                region = appointments.get_case(tx.session, case_id).appointing_region
                actor = appointments.resolve_actor(tx.session, f"coord@{region}.example")
                appointments.advance(tx, case_id, "accept", actor, evidence="telefon")
            got = "ok"
        except Conflict:
            got = "conflict"
        except NotAllowed:
            got = "refused"
        with lock:
            outcomes.append(got)

    for a, b in pairs:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=act, args=(barrier, c)) for c in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    return outcomes


def test_coordinators_advancing_different_cases_at_once_never_see_a_conflict(steps):
    """30 pairs of coordinators, each pair firing on two DIFFERENT cases at the same instant:
    every step goes through (the write lock is taken up front, so they take turns), and
    nobody is told "changed meanwhile" when nobody changed their case."""
    cases = []
    for n in range(15):
        sid = steps.service(name=f"Nasjonal tjeneste {n}")
        cases += [steps.propose(sid, seat) for seat in ("region:vest", "region:midt",
                                                         "region:nord", "user:1")]
    outcomes = _race(steps.settings, steps.clock, list(zip(cases[::2], cases[1::2], strict=True)))
    assert outcomes.count("ok") == 60, outcomes


def test_two_coordinators_on_the_same_case_one_goes_through(steps):
    """The same case at the same instant, ten times: one of each pair acts, the other is
    told the case has moved on (it waited for the lock, then saw the new state)."""
    sid = steps.service()
    cases = [steps.propose(sid, seat) for seat in ("region:vest", "region:midt", "region:nord")]
    outcomes = _race(steps.settings, steps.clock, [(c, c) for c in cases])
    assert outcomes.count("ok") == 3 and len(outcomes) == 6, outcomes


def test_a_failed_unit_of_work_leaves_nothing_for_the_next(ready_case, clock):
    """A step that fails half-way (after its writes) is rolled back whole, and the next unit
    of work in the same process starts clean and commits: a connection kept between units of
    work never carries a failed one's transaction over."""
    settings = ready_case
    before = audit_rows(settings)
    actor = None
    with pytest.raises(RuntimeError), db.transaction(settings, clock) as tx:
        actor = appointments.resolve_actor(tx.session, "coord@nord.example")
        appointments.advance(tx, 1, "appoint", actor)
        raise RuntimeError("the step fails after writing")
    assert audit_rows(settings) == before
    with db.transaction(settings, clock) as tx:
        assert appointments.get_case(tx.connection, 1).state == "ready"
        appointments.advance(tx, 1, "appoint", actor)
    assert [r[0] for r in audit_rows(settings)] == [r[0] for r in before] + ["appoint"]


def test_many_threads_that_each_did_a_unit_of_work_do_not_starve_the_next(ready_case, clock):
    """The link pages answer in many worker threads: a thread that has finished its unit of
    work holds no connection, so a burst of them cannot leave the next request waiting for
    one (the pool holds 15)."""
    settings = ready_case
    done, release = threading.Barrier(21), threading.Event()

    def worker():
        with db.transaction(settings, clock, write=False) as tx:
            appointments.get_case(tx.connection, 1)
        done.wait(timeout=20)
        release.wait(timeout=20)  # alive, idle, as a pool thread between requests

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    try:
        done.wait(timeout=20)
        outcome = []

        def another():
            with db.transaction(settings, clock, write=False) as tx:
                outcome.append(appointments.get_case(tx.connection, 1).state)

        extra = threading.Thread(target=another)
        extra.start()
        extra.join(timeout=10)
        assert outcome == ["ready"], "a new unit of work in a 21st thread got no connection"
    finally:
        release.set()
        for t in threads:
            t.join()
