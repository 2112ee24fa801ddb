#!/usr/bin/env python3
"""Peer benchmark: Appointer beside four other ways of running the same persisted workflow
on SQLite (issue 15), in one interleaved run, with the ratio table of issue 15.

    .venv/bin/pip install -q -c constraints.txt -e '.[dev,bench]'
    .venv/bin/python bench/peers_bench.py [--n 2000] [--reps 3] [--passes 1] [--only raw,spiff,...]
                                          [--compare DIR [--compare-label LABEL]] [--syncfull]
                                          [--json FILE] [--dbdir DIR]

Ported from the shared peer benchmark (`../shared/peers/run_peers.py` and its README, the
reference workload); the four peers' code is that script's, unchanged but for lint. What changed:
  - the SpiffWorkflow peer reads bench/peers/appointment.bpmn (a copy of the shared one);
  - Appointer fixture: `reference.add_coordinator` and `set_region_contact` now need an admin
    actor, so the sor-ost coordinator is made the first admin (`reference.make_first_admin`)
    and adds the other three coordinators and the contacts; still one coordinator per region,
    as before (a checkout without admins is run the old way);
  - the Appointer peers import the appointer package of this checkout (or of --compare DIR),
    put first on sys.path in the child, and check that `appointer.__file__` and the
    workflows/ and mail_templates/ it uses really come from there;
  - `appointer-engine` and `appointer-full` run by default (synchronous=NORMAL, like every
    peer); the `-syncfull` variants (Appointer's default synchronous=FULL) only with --syncfull;
  - --compare DIR: the Appointer peers also run from another checkout (e.g. a `git worktree` of
    an older commit), as rows `appointer-engine@LABEL` and `appointer-full@LABEL` in the same
    interleaved run (LABEL: DIR's `git rev-parse --short HEAD` by default);
  - --passes K runs the whole interleaved set K times; after the medians tables (all runs of
    all passes) comes issue 15's ratio table: each peer's median transitions/s per pass
    ("pass 1 / 2 / 3"), Appointer engine path ÷ peer and full path ÷ peer per pass, and the
    issue's goals checked per pass.

Workload (identical for every peer)
-----------------------------------
N cases of the member-appointment workflow.  A case is created in state
"proposed" (one transaction per case).  Then three steps, each a separate
event that in real life comes days apart:

    accept  (candidate)          proposed  -> accepted
    consent (leader)             accepted  -> consented
    appoint (regional authority) consented -> appointed

Every step runs in ONE SQLite transaction (BEGIN IMMEDIATE ... COMMIT):
load the case, apply the transition through the engine, store the new state
(plus the engine's serialized workflow data, if it needs any), insert an audit
row (case id, trigger, from, to, actor, timestamp) and an outbox row
(recipient, subject, ~400-byte body).  Phases are interleaved: create all N,
then step 1 for all, then step 2 for all, then step 3 for all, so every step
really reloads the case from the database.

SQLite: WAL journal, synchronous=NORMAL, foreign_keys=ON, fresh file per run.

Peers
-----
raw                    plain sqlite3, state string + dict of allowed transitions
spiff                  SpiffWorkflow 3.x BPMN engine, workflow JSON round-trip per step
pystatemachine         python-statemachine 3.x bound to a plain object per step
transitions-sqlalchemy transitions 0.9.3 shared Machine on a SQLAlchemy 2 ORM object
appointer-*            Appointer itself, each step through its own `appointments.advance`
                       (-> engine.fire) in one `db.transaction`:
                         appointer-engine           workflow without `notify` (no email), NORMAL
                         appointer-full             workflow as shipped (emails + link tokens), NORMAL
                         appointer-engine-syncfull  as appointer-engine, synchronous=FULL (--syncfull)
                         appointer-full-syncfull    as appointer-full, synchronous=FULL (--syncfull)

Every (peer, repetition) runs in a fresh child process (so peak RSS is per
peer and imports are cold), repetitions are interleaved across peers, and the
median of each figure is printed. Every run is verified (outside the timing);
the exit status is 1 when any run fails or fails its verification.
"""

import argparse
import datetime as _dt
import functools
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT_ROOT = os.path.dirname(HERE)  # the checkout this script belongs to
BPMN_FILE = os.path.join(HERE, "peers", "appointment.bpmn")

PEERS = ["raw", "spiff", "pystatemachine", "transitions-sqlalchemy",
         "appointer-engine", "appointer-full"]
SYNCFULL_PEERS = ["appointer-engine-syncfull", "appointer-full-syncfull"]  # with --syncfull

STATES = ["proposed", "accepted", "consented", "appointed"]
# (trigger, source, dest) in workflow order
STEPS = [
    ("accept", "proposed", "accepted"),
    ("consent", "accepted", "consented"),
    ("appoint", "consented", "appointed"),
]

pc = time.perf_counter


class InvalidTransition(Exception):
    """Raised by the raw peer (the other peers raise their library's own error)."""


# --------------------------------------------------------------------------
# Shared workload data (deterministic, identical for all peers)
# --------------------------------------------------------------------------

_BODY_TEMPLATE = (
    "Dear {recipient},\n\n"
    "This is an automatic notice from the member-appointment service. Case "
    "#{cid:06d} has just moved from '{src}' to '{dst}' because {actor} "
    "performed the action '{trigger}'. Please review the case in the portal "
    "and take the next step within the agreed deadline. If you believe this "
    "message reached you in error, reply to this address and the secretariat "
    "will look into it.\n\nKind regards,\nThe appointment secretariat\n"
)
BODY_LEN = 400


def step_params(cid: int, trigger: str, src: str, dst: str):
    """Actor, recipient, subject, body for one step of one case."""
    if trigger == "accept":
        actor = f"candidate-{cid}"
        recipient = f"leader-{cid % 50}@example.org"
    elif trigger == "consent":
        actor = f"leader-{cid % 50}"
        recipient = f"rhf-{cid % 5}@example.org"
    else:
        actor = f"rhf-{cid % 5}"
        recipient = f"candidate-{cid}@example.org"
    subject = f"Case #{cid:06d}: {src} -> {dst}"
    body = _BODY_TEMPLATE.format(recipient=recipient, cid=cid, src=src, dst=dst,
                                 actor=actor, trigger=trigger)
    body = body[:BODY_LEN].ljust(BODY_LEN, ".")
    return actor, recipient, subject, body


def utcnow_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat()


# --------------------------------------------------------------------------
# Plain sqlite3 plumbing shared by raw / spiff / pystatemachine
# --------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    id          INTEGER PRIMARY KEY,
    state       VARCHAR(32) NOT NULL,
    workflow    TEXT,
    created_at  VARCHAR(40) NOT NULL,
    updated_at  VARCHAR(40) NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    trigger     VARCHAR(32) NOT NULL,
    from_state  VARCHAR(32) NOT NULL,
    to_state    VARCHAR(32) NOT NULL,
    actor       VARCHAR(64) NOT NULL,
    at          VARCHAR(40) NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_audit_case_id ON audit(case_id);
CREATE TABLE IF NOT EXISTS outbox (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    recipient   VARCHAR(128) NOT NULL,
    subject     VARCHAR(200) NOT NULL,
    body        TEXT NOT NULL,
    created_at  VARCHAR(40) NOT NULL,
    sent_at     VARCHAR(40)
);
CREATE INDEX IF NOT EXISTS ix_outbox_case_id ON outbox(case_id);
"""


def sqlite_connect(path: str) -> sqlite3.Connection:
    # isolation_level=None: the sqlite3 module never issues BEGIN on its own;
    # we issue BEGIN IMMEDIATE ourselves so that the *read* of the case is
    # inside the same write transaction as the update.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class Timers:
    """Accumulates named durations (seconds)."""

    def __init__(self):
        self.t = {}

    def add(self, name, dt):
        self.t[name] = self.t.get(name, 0.0) + dt


def sqlite_create_all(conn, n, make_initial):
    """Create n cases, one transaction each. make_initial() -> (state, workflow_json|None)."""
    ids = []
    for _ in range(n):
        now = utcnow_iso()
        conn.execute("BEGIN IMMEDIATE")
        try:
            state, wf = make_initial()
            cur = conn.execute(
                "INSERT INTO cases (state, workflow, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (state, wf, now, now),
            )
            ids.append(cur.lastrowid)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return ids


def sqlite_step(conn, cid, trigger, src_expected, dst_expected, engine, timers):
    """One step = one transaction. engine(state, workflow_json, trigger, actor) -> (new_state, new_workflow_json)."""
    actor, recipient, subject, body = step_params(cid, trigger, src_expected, dst_expected)
    now = utcnow_iso()
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT state, workflow FROM cases WHERE id = ?", (cid,)).fetchone()
        if row is None:
            raise LookupError(cid)
        src, wf = row
        t0 = pc()
        dst, new_wf = engine(src, wf, trigger, actor)
        timers.add("engine", pc() - t0)
        conn.execute(
            "UPDATE cases SET state = ?, workflow = ?, updated_at = ? WHERE id = ?",
            (dst, new_wf, now, cid),
        )
        conn.execute(
            "INSERT INTO audit (case_id, trigger, from_state, to_state, actor, at) VALUES (?, ?, ?, ?, ?, ?)",
            (cid, trigger, src, dst, actor, now),
        )
        conn.execute(
            "INSERT INTO outbox (case_id, recipient, subject, body, created_at) VALUES (?, ?, ?, ?, ?)",
            (cid, recipient, subject, body, now),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def run_sqlite_peer(path, n, make_initial, engine, expected_error, t_start, timers_extra=None):
    """Generic driver for the three plain-sqlite3 peers. Returns phase timings.

    t_start: perf_counter() taken at the top of the peer function, before its imports,
    so that setup_s = imports + engine/spec setup + schema, the same for every peer."""
    res = {}
    timers = timers_extra if timers_extra is not None else Timers()
    conn = sqlite_connect(path)
    conn.executescript(SCHEMA)
    res["setup_s"] = pc() - t_start

    t = pc()
    ids = sqlite_create_all(conn, n, make_initial)
    res["create_s"] = pc() - t

    step_s = []
    timers.t.clear()  # engine time counted over the step phases only
    for trigger, src, dst in STEPS:
        t = pc()
        for cid in ids:
            sqlite_step(conn, cid, trigger, src, dst, engine, timers)
        step_s.append(pc() - t)
    res["step_s"] = step_s
    res["timers"] = dict(timers.t)

    # Guard check (outside timing): an illegal trigger must be refused and leave no trace.
    try:
        sqlite_step(conn, ids[0], "accept", "proposed", "accepted", engine, Timers())
    except expected_error:
        res["illegal_rejected"] = True
    else:
        res["illegal_rejected"] = False
    conn.close()
    return res


# --------------------------------------------------------------------------
# Peer 1: raw
# --------------------------------------------------------------------------

def peer_raw(path, n):
    t_start = pc()
    allowed = {(src, trig): dst for trig, src, dst in STEPS}

    def make_initial():
        return "proposed", None

    def engine(state, wf, trigger, actor):
        dst = allowed.get((state, trigger))
        if dst is None:
            raise InvalidTransition(f"{trigger} not allowed from {state}")
        return dst, None

    return run_sqlite_peer(path, n, make_initial, engine, InvalidTransition, t_start)


# --------------------------------------------------------------------------
# Peer 2: SpiffWorkflow (BPMN)
# --------------------------------------------------------------------------

def peer_spiff(path, n):
    t_start = pc()
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.parser import BpmnParser, BpmnValidator
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.util.task import TaskState

    parser = BpmnParser(validator=BpmnValidator())
    parser.add_bpmn_file(BPMN_FILE)
    spec = parser.get_spec("member_appointment")
    serializer = BpmnWorkflowSerializer()

    # user task that a trigger completes, and the state a case is in while that task waits
    task_for_trigger = {"accept": "candidate_accepts", "consent": "leader_consents", "appoint": "rhf_appoints"}
    state_for_waiting_task = {"candidate_accepts": "proposed", "leader_consents": "accepted",
                              "rhf_appoints": "consented"}

    class SpiffRefused(Exception):
        pass

    def derive_state(wf):
        if wf.is_completed():
            return "appointed"
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        if len(ready) != 1:
            raise SpiffRefused(f"expected one ready user task, got {ready}")
        return state_for_waiting_task[ready[0].task_spec.name]

    def make_initial():
        wf = BpmnWorkflow(spec)
        wf.do_engine_steps()
        return derive_state(wf), serializer.serialize_json(wf)

    timers = Timers()

    def engine(state, wf_json, trigger, actor):
        t0 = pc()
        wf = serializer.deserialize_json(wf_json)
        t1 = pc()
        want = task_for_trigger[trigger]
        ready = [t for t in wf.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == want]
        if not ready:
            raise SpiffRefused(f"{trigger}: user task {want} is not ready (state {state})")
        task = ready[0]
        task.data[f"{trigger}_by"] = actor
        task.run()
        wf.refresh_waiting_tasks()
        wf.do_engine_steps()
        dst = derive_state(wf)
        t2 = pc()
        out = serializer.serialize_json(wf)
        t3 = pc()
        timers.add("deserialize", t1 - t0)
        timers.add("run_engine", t2 - t1)
        timers.add("serialize", t3 - t2)
        return dst, out

    res = run_sqlite_peer(path, n, make_initial, engine, SpiffRefused, t_start, timers_extra=timers)

    # verification of the engine's own view (outside timing)
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT workflow FROM cases ORDER BY id LIMIT 20").fetchall()
    sizes = conn.execute("SELECT avg(length(workflow)), max(length(workflow)) FROM cases").fetchone()
    conn.close()
    res["engine_completed_sample"] = all(serializer.deserialize_json(r[0]).is_completed() for r in rows)
    res["workflow_json_avg_bytes"] = sizes[0]
    res["workflow_json_max_bytes"] = sizes[1]
    return res


# --------------------------------------------------------------------------
# Peer 3: python-statemachine 3.x
# --------------------------------------------------------------------------

def peer_pystatemachine(path, n):
    t_start = pc()
    from statemachine import State, StateMachine
    from statemachine.exceptions import TransitionNotAllowed

    class AppointmentMachine(StateMachine):
        proposed = State(initial=True)
        accepted = State()
        consented = State()
        appointed = State(final=True)

        accept = proposed.to(accepted)
        consent = accepted.to(consented)
        appoint = consented.to(appointed)

    class CaseRecord:
        """Plain domain object; its `state` field is what is persisted."""
        __slots__ = ("state",)

        def __init__(self, state):
            self.state = state

    def make_initial():
        rec = CaseRecord(None)
        AppointmentMachine(model=rec)  # activates the initial state on the model
        return rec.state, None

    def engine(state, wf, trigger, actor):
        rec = CaseRecord(state)
        # the model already carries the stored state; start_value is given too
        # (python-statemachine only uses it when the model has no state yet)
        sm = AppointmentMachine(model=rec, start_value=state)
        sm.send(trigger)
        return rec.state, None

    return run_sqlite_peer(path, n, make_initial, engine, TransitionNotAllowed, t_start)


# --------------------------------------------------------------------------
# Peer 4: transitions 0.9.3 + SQLAlchemy 2 ORM
# --------------------------------------------------------------------------

def peer_transitions_sqlalchemy(path, n):
    t_start = pc()

    from sqlalchemy import DateTime, ForeignKey, String, Text, create_engine, event, func, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
    from transitions import Machine, MachineError

    class Base(DeclarativeBase):
        pass

    class Case(Base):
        __tablename__ = "cases"
        id: Mapped[int] = mapped_column(primary_key=True)
        state: Mapped[str] = mapped_column(String(32))
        workflow: Mapped[str | None] = mapped_column(Text)
        created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
        updated_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))

    class AuditEntry(Base):
        __tablename__ = "audit"
        id: Mapped[int] = mapped_column(primary_key=True)
        case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
        trigger: Mapped[str] = mapped_column(String(32))
        from_state: Mapped[str] = mapped_column(String(32))
        to_state: Mapped[str] = mapped_column(String(32))
        actor: Mapped[str] = mapped_column(String(64))
        at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))

    class OutboxMessage(Base):
        __tablename__ = "outbox"
        id: Mapped[int] = mapped_column(primary_key=True)
        case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
        recipient: Mapped[str] = mapped_column(String(128))
        subject: Mapped[str] = mapped_column(String(200))
        body: Mapped[str] = mapped_column(Text)
        created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True))
        sent_at: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True))

    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # take over transaction control from pysqlite (SQLAlchemy's documented
        # recipe), so the SELECT of the case is inside our BEGIN IMMEDIATE
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    Base.metadata.create_all(engine)

    machine = Machine(
        model=None,
        states=STATES,
        transitions=[{"trigger": t, "source": s, "dest": d} for t, s, d in STEPS],
        initial="proposed",
        auto_transitions=False,
    )
    res = {"setup_s": pc() - t_start}
    timers = Timers()

    def utcnow():
        return _dt.datetime.now(_dt.UTC)

    t = pc()
    ids = []
    for _ in range(n):
        now = utcnow()
        with Session(engine) as s, s.begin():
            case = Case(state=machine.initial, created_at=now, updated_at=now)
            s.add(case)
            s.flush()
            ids.append(case.id)
    res["create_s"] = pc() - t

    def step(cid, trigger, src_expected, dst_expected):
        actor, recipient, subject, body = step_params(cid, trigger, src_expected, dst_expected)
        now = utcnow()
        with Session(engine) as s, s.begin():
            case = s.get(Case, cid)
            src = case.state
            t0 = pc()
            machine.events[trigger].trigger(case)
            timers.add("engine", pc() - t0)
            case.updated_at = now
            s.add(AuditEntry(case_id=cid, trigger=trigger, from_state=src, to_state=case.state,
                             actor=actor, at=now))
            s.add(OutboxMessage(case_id=cid, recipient=recipient, subject=subject, body=body,
                                created_at=now))

    step_s = []
    for trigger, src, dst in STEPS:
        t = pc()
        for cid in ids:
            step(cid, trigger, src, dst)
        step_s.append(pc() - t)
    res["step_s"] = step_s
    res["timers"] = dict(timers.t)

    try:
        step(ids[0], "accept", "proposed", "accepted")
    except MachineError:
        res["illegal_rejected"] = True
    else:
        res["illegal_rejected"] = False

    with Session(engine) as s:
        res["orm_appointed"] = s.scalar(select(func.count()).select_from(Case).where(Case.state == "appointed"))
    engine.dispose()
    return res


# --------------------------------------------------------------------------
# Peer 5: Appointer itself, through its own engine (appointments.advance -> engine.fire)
# --------------------------------------------------------------------------

# name -> (emails and links on?, PRAGMA synchronous)
APPOINTER_VARIANTS = {
    "appointer-engine": (False, "NORMAL"),
    "appointer-full": (True, "NORMAL"),
    "appointer-engine-syncfull": (False, "FULL"),
    "appointer-full-syncfull": (True, "FULL"),
}
# Appointer's own state names for the same three steps (proposed -> ... -> appointed)
APPOINTER_STEPS = [
    ("accept", "proposed", "awaiting_consent"),
    ("consent", "awaiting_consent", "ready"),
    ("appoint", "ready", "appointed"),
]
APPOINTER_REGIONS = ("sor-ost", "vest", "midt", "nord")
# the non-user seats of a national service's group: each case takes accept -> consent -> appoint
APPOINTER_SEATS = ("region:sor-ost", "region:vest", "region:midt", "region:nord", "service", "other:1")

# The checkout whose appointer package the child imports: this one, or --compare DIR
# (set by child_main before the peer runs).
APPOINTER_ROOT = PROJECT_ROOT


def _under(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return os.path.commonpath([path, root]) == root


def check_appointer_resources(settings) -> dict:
    """The workflows/ and mail_templates/ the settings point at (found by appointer relative to
    its package) must be the ones of the checkout under test: exit loudly otherwise."""
    out = {}
    for attr in ("workflows_dir", "templates_dir"):
        d = getattr(settings, attr, None)
        if d is None or not os.path.isdir(d) or not _under(d, APPOINTER_ROOT):
            raise SystemExit(f"appointer's {attr} is {d!r}, not a folder of the checkout "
                             f"{APPOINTER_ROOT}")
        out[attr] = d
    return out


def peer_appointer(path, n, variant):
    """Appointer through its public in-process API, the path its CLI and link pages take:
    `with db.transaction(settings) as tx: appointments.advance(tx, case_id, trigger, actor)`.
    Cases are created in `proposed` with `records.new` + `records.write` (one INSERT of the
    case row, like the other peers' create; not `propose_member`, which would also audit and
    email). Reference data, coordinators and the services the cases belong to are fixtures,
    timed apart (`fixtures_s`), not part of setup/create/steps."""
    mail, sync = APPOINTER_VARIANTS[variant]
    t_start = pc()
    from sqlmodel import select

    from appointer import appointments, db, records, reference, services
    from appointer import settings as settings_mod
    from appointer.clock import Clock
    from appointer.engine import Actor
    from appointer.errors import NotAllowed
    from appointer.models import Appointment, Institution, Region

    res = {"appointer_variant": {"mail": mail, "synchronous": sync}}
    settings = settings_mod.load(env={}, db=path, sqlite_synchronous=sync)
    # the workflows and templates must be the checkout's own (found relative to the package)
    res["appointer_resources"] = check_appointer_resources(settings)
    if not mail:
        from _workflows import without_mail  # (bench/ is on sys.path: the script's folder)

        settings = settings_mod.replace(
            settings, workflows_dir=without_mail(settings.workflows_dir, os.path.dirname(path)))
    clock = Clock()
    db.migrate(settings)  # the schema (Alembic), as `appointer init`
    res["setup_s"] = pc() - t_start  # imports + schema, as for the other peers
    with db.get_engine(settings).connect() as conn:  # what the engine's connections really use
        res["pragma_synchronous"] = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[
            conn.exec_driver_sql("PRAGMA synchronous").scalar()]
        res["pragma_journal_mode"] = conn.exec_driver_sql("PRAGMA journal_mode").scalar()

    # -- fixtures: regions, institutions, a coordinator and contact per region, the services
    t = pc()
    n_services = -(-n // len(APPOINTER_SEATS))
    with db.transaction(settings, clock) as tx:
        reference.seed(tx)
        if hasattr(reference, "make_first_admin"):
            # admins manage coordinators and contacts: the first region's coordinator is made
            # the first admin and adds the rest (still one coordinator per region)
            first = APPOINTER_REGIONS[0]
            reference.make_first_admin(tx, f"coord@{first}.example", f"Coordinator {first}", first)
            admin = {"actor": appointments.resolve_actor(tx.session, f"coord@{first}.example")}
        else:  # a checkout from before the admin rule (--compare)
            first, admin = None, {}
        for code in APPOINTER_REGIONS:
            if code != first:
                reference.add_coordinator(tx, f"coord@{code}.example", f"Coordinator {code}", code,
                                          **admin)
            reference.set_region_contact(tx, code, f"contact@{code}.example", **admin)
        insts = list(tx.session.exec(select(Institution)))
        region_names = {r.code: r.name for r in tx.session.exec(select(Region))}
        hfs = {code: [i for i in insts if i.region_code == code and i.kind == "hf"]
               for code in APPOINTER_REGIONS}
        coordinators = {code: appointments.resolve_actor(tx.session, f"coord@{code}.example")
                        for code in APPOINTER_REGIONS}
        specs = []  # per case: the values of its row
        for k in range(n_services):
            home = APPOINTER_REGIONS[k % 4]
            host = hfs[home][k % len(hfs[home])]
            svc = services.add_service(tx, name=f"Nasjonal tjeneste nr. {k}", hosts=[host.name],
                                       kind="national", leader_name=f"Leder {k}",
                                       leader_email=f"leder{k}@tjeneste.example")
            for j, seat in enumerate(APPOINTER_SEATS):
                if len(specs) == n:
                    break
                if seat.startswith("region:"):
                    code = seat.partition(":")[2]
                    pool = [i for i in hfs[code] if i.id != host.id]
                    inst, appointing = pool[k % len(pool)], code
                    represents = f"spesialisthelsetjenesten i {region_names[code]}"
                else:
                    inst, appointing = host, home
                    represents = f"tjenesten ({host.name})" if seat == "service" else host.name
                specs.append(dict(
                    service_id=svc.id, seat=seat, appointing_region=appointing,
                    candidate_name=f"Kandidat {k}-{j}", candidate_email=f"k{k}-{j}@example.no",
                    institution_id=inst.id, leader_name=f"Leder {k}-{j}",
                    leader_email=f"l{k}-{j}@example.no", share="5 %", represents=represents,
                    lang="nb"))
    res["fixtures_s"] = pc() - t
    res["services"] = n_services

    # -- create: one transaction per case, one INSERT of the case row, state `proposed`
    t = pc()
    ids = []
    for spec in specs:
        with db.transaction(settings, clock) as tx:
            now = clock.now()
            case = records.new(Appointment, state="proposed", created_at=now, state_since=now,
                               **spec)
            records.write(tx.session, case)
        ids.append(case.id)
    res["create_s"] = pc() - t

    # who fires each step: the candidate and the leader (as through their links), then a
    # coordinator of the appointing region
    actors = {
        "accept": [Actor(kind="candidate", email=s["candidate_email"]) for s in specs],
        "consent": [Actor(kind="leader", email=s["leader_email"]) for s in specs],
        "appoint": [coordinators[s["appointing_region"]] for s in specs],
    }
    timers = Timers()
    outbox_rows = {}

    def step(i, trigger, dst):
        t0 = pc()
        with db.transaction(settings, clock) as tx:
            t1 = pc()
            fired = appointments.advance(tx, ids[i], trigger, actors[trigger][i])
            t2 = pc()
        t3 = pc()
        timers.add("tx_open", t1 - t0)
        timers.add("advance", t2 - t1)
        timers.add("commit_close", t3 - t2)
        if fired.to_state != dst:
            raise AssertionError(f"case {ids[i]}: {trigger} went to {fired.to_state}, not {dst}")
        outbox_rows[trigger] = outbox_rows.get(trigger, 0) + len(fired.outbox_ids)

    step_s = []
    for trigger, _src, dst in APPOINTER_STEPS:
        t = pc()
        for i in range(len(ids)):
            step(i, trigger, dst)
        step_s.append(pc() - t)
    res["step_s"] = step_s
    res["timers"] = dict(timers.t)
    res["outbox_rows_per_trigger"] = outbox_rows

    # Guard check (outside timing): an illegal trigger is refused and leaves no trace.
    try:
        step(0, "accept", "awaiting_consent")
    except NotAllowed:
        res["illegal_rejected"] = True
    else:
        res["illegal_rejected"] = False
    db.dispose_all()  # closes the pooled connections (the last close checkpoints the WAL)
    return res


def verify_appointer_db(path, n, mail):
    """Appointer's own schema: tables appointment, auditevent, outboxmessage, token."""
    conn = sqlite3.connect(path)
    q = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
    states = dict(q("SELECT state, count(*) FROM appointment GROUP BY state"))
    audit = q("SELECT count(*) FROM auditevent WHERE case_type = 'appointment'")[0][0]
    per_case = q(
        "SELECT count(*) FROM (SELECT case_id FROM (SELECT case_id, \"trigger\" FROM auditevent "
        "WHERE case_type = 'appointment' ORDER BY id) GROUP BY case_id HAVING count(*) = 3 "
        "AND group_concat(\"trigger\", ',') = 'accept,consent,appoint')")[0][0]
    outbox = q("SELECT count(*) FROM outboxmessage")[0][0]
    by_template = dict(q("SELECT template, count(*) FROM outboxmessage GROUP BY template"))
    sizes = q("SELECT avg(length(subject)), avg(length(body_text)), avg(length(body_html)) "
              "FROM outboxmessage")[0]
    tokens = q("SELECT count(*) FROM token")[0][0]
    revoked = q("SELECT count(*) FROM token WHERE revoked_at IS NOT NULL")[0][0]
    fk_problems = q("PRAGMA foreign_key_check")
    journal = q("PRAGMA journal_mode")[0][0]
    conn.close()
    problems = []
    if states != {"appointed": n}:
        problems.append(f"states={states}")
    if audit != 3 * n:
        problems.append(f"audit rows={audit}")
    if per_case != n:
        problems.append(f"cases with a clean accept,consent,appoint audit trail={per_case}")
    if mail and (outbox < 3 * n or tokens != n):
        problems.append(f"outbox rows={outbox} tokens={tokens} (want >= 3N messages, N tokens)")
    if not mail and (outbox or tokens):
        problems.append(f"outbox rows={outbox} tokens={tokens} (want none)")
    if fk_problems:
        problems.append(f"foreign key problems={len(fk_problems)}")
    if journal != "wal":
        problems.append(f"journal_mode={journal}")
    return {"ok": not problems, "problems": problems, "outbox_rows": outbox,
            "outbox_by_template": by_template, "tokens": tokens, "tokens_revoked": revoked,
            "outbox_avg_chars": {"subject": sizes[0], "text": sizes[1], "html": sizes[2]}}


PEER_FUNCS = {
    "raw": peer_raw,
    "spiff": peer_spiff,
    "pystatemachine": peer_pystatemachine,
    "transitions-sqlalchemy": peer_transitions_sqlalchemy,
    **{name: functools.partial(peer_appointer, variant=name) for name in APPOINTER_VARIANTS},
}

# --------------------------------------------------------------------------
# Child: run one peer once, print one JSON line
# --------------------------------------------------------------------------

def verify_db(path, n):
    """Independent check with plain sqlite3 after the peer has closed its connections."""
    conn = sqlite3.connect(path)
    states = dict(conn.execute("SELECT state, count(*) FROM cases GROUP BY state").fetchall())
    audit = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    outbox = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    per_case = conn.execute(
        "SELECT count(*) FROM (SELECT case_id FROM audit GROUP BY case_id HAVING count(*) = 3 "
        "AND group_concat(trigger, ',') = 'accept,consent,appoint')").fetchone()[0]
    fk_problems = conn.execute("PRAGMA foreign_key_check").fetchall()
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    body_len = conn.execute("SELECT min(length(body)), max(length(body)) FROM outbox").fetchone()
    conn.close()
    problems = []
    if states != {"appointed": n}:
        problems.append(f"states={states}")
    if audit != 3 * n:
        problems.append(f"audit rows={audit}")
    if outbox != 3 * n:
        problems.append(f"outbox rows={outbox}")
    if per_case != n:
        problems.append(f"cases with a clean accept,consent,appoint audit trail={per_case}")
    if fk_problems:
        problems.append(f"foreign key problems={len(fk_problems)}")
    if journal != "wal":
        problems.append(f"journal_mode={journal}")
    return {"ok": not problems, "problems": problems, "body_len": list(body_len)}


def file_sizes(path):
    sizes = {}
    for suffix in ("", "-wal", "-shm"):
        p = path + suffix
        sizes[suffix or "db"] = os.path.getsize(p) if os.path.exists(p) else 0
    return sizes


def child_main(peer, n, path, appointer_dir=None):
    rss_start_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    expect_file = None
    if peer in APPOINTER_VARIANTS:
        # located now, imported (cold, timed as setup) by the peer itself
        global APPOINTER_ROOT
        APPOINTER_ROOT = os.path.realpath(appointer_dir or PROJECT_ROOT)
        sys.path.insert(0, APPOINTER_ROOT)
        import importlib.util

        spec = importlib.util.find_spec("appointer")
        expect_file = spec.origin if spec else None
        if expect_file is None or not _under(expect_file, APPOINTER_ROOT):
            raise SystemExit(f"appointer would be imported from {expect_file}, not from the "
                             f"checkout {APPOINTER_ROOT}")
    t0 = pc()
    res = PEER_FUNCS[peer](path, n)
    res["peer_total_s"] = pc() - t0  # includes the peer's own imports and setup
    res["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res["rss_at_child_start_kb"] = rss_start_kb
    res["files_after_close"] = file_sizes(path)
    if peer in APPOINTER_VARIANTS:
        imported = sys.modules["appointer"].__file__
        if not _under(imported, APPOINTER_ROOT):
            raise SystemExit(f"appointer was imported from {imported}, not from the checkout "
                             f"{APPOINTER_ROOT}")
        res["appointer_file"] = imported
        res["verify"] = verify_appointer_db(path, n, APPOINTER_VARIANTS[peer][0])
    else:
        res["verify"] = verify_db(path, n)
    res["peer"] = peer
    res["n"] = n
    print("RESULT " + json.dumps(res))


# --------------------------------------------------------------------------
# Parent: orchestrate, aggregate, print
# --------------------------------------------------------------------------

def lib_versions():
    from importlib import metadata
    out = {}
    for name in ["SpiffWorkflow", "lxml", "python-statemachine", "transitions", "SQLAlchemy",
                 "appointer", "sqlmodel", "Jinja2"]:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_describe(root):
    """(short HEAD, subject) of the checkout at root, or (None, None) outside git."""
    try:
        out = subprocess.run(["git", "-C", root, "log", "-1", "--format=%h %s"],
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None, None
    short, _, subject = out.partition(" ")
    return short, subject


def run_child(peer, n, dbdir, appointer_dir=None):
    """One run of one peer in a fresh process; appointer_dir: the checkout whose appointer the
    Appointer peers use (None: this one)."""
    d = tempfile.mkdtemp(prefix=f"peer-{peer}-", dir=dbdir)
    path = os.path.join(d, "bench.sqlite3")
    env = None
    try:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", peer, "--n", str(n), "--db", path]
        if appointer_dir:
            cmd += ["--appointer-dir", appointer_dir]
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                [appointer_dir] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        t0 = pc()
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = pc() - t0
        if p.returncode != 0:
            return {"peer": peer, "error": (p.stderr or p.stdout)[-3000:]}
        line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")][-1]
        res = json.loads(line[len("RESULT "):])
        res["process_wall_s"] = wall
        if p.stderr.strip():
            res["stderr_tail"] = p.stderr[-1000:]
        return res
    finally:
        shutil.rmtree(d, ignore_errors=True)


def derive(res, n):
    steps = sum(res["step_s"])
    total = res["setup_s"] + res["create_s"] + steps
    d = {
        "total_s": total,
        "setup_s": res["setup_s"],
        "create_s": res["create_s"],
        "steps_s": steps,
        "transitions_per_s": 3 * n / steps,
        "creates_per_s": n / res["create_s"],
        "us_per_transition": steps / (3 * n) * 1e6,
        "engine_us_per_transition": res["timers"].get("engine", 0.0) / (3 * n) * 1e6,
        "peak_rss_mb": res["peak_rss_kb"] / 1024,
        "db_mb": sum(res["files_after_close"].values()) / 1e6,
        "process_wall_s": res["process_wall_s"],
    }
    d["rest_us_per_transition"] = d["us_per_transition"] - d["engine_us_per_transition"]
    d["engine_timed"] = 1.0 if "engine" in res["timers"] else 0.0
    # appointer peers: the step split as the caller sees it, and what each step queued
    for k in ("tx_open", "advance", "commit_close"):
        if k in res["timers"]:
            d[f"{k}_us_per_transition"] = res["timers"][k] / (3 * n) * 1e6
    for trig, rows in res.get("outbox_rows_per_trigger", {}).items():
        d[f"outbox_rows_per_{trig}"] = rows / n
    if "fixtures_s" in res:
        d["fixtures_s"] = res["fixtures_s"]
    for k in ("deserialize", "run_engine", "serialize"):
        if k in res["timers"]:
            d[f"{k}_us_per_transition"] = res["timers"][k] / (3 * n) * 1e6
    if "workflow_json_avg_bytes" in res:
        d["workflow_json_avg_bytes"] = res["workflow_json_avg_bytes"]
    return d


def fmt_table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(str(h).rjust(w) if i else str(h).ljust(w)
                     for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                             for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(out)


def medians(ds):
    """Each figure's median over the derived figures of some runs, plus the min/max rate."""
    m = {k: statistics.median(d[k] for d in ds) for k in ds[0]}
    m["tps_min"] = min(d["transitions_per_s"] for d in ds)
    m["tps_max"] = max(d["transitions_per_s"] for d in ds)
    m["runs"] = len(ds)
    return m


def ratio_table(rows, base_of, tps, passes, compare_label):
    """Issue 15's table: each row's median transitions/s per pass, and Appointer's engine and
    full path divided by it, per pass. tps[row][pass] is None for a pass with no good run."""
    def per_pass(values, fmt):
        return " / ".join("-" if v is None else format(v, fmt) for v in values)

    def ratio(num_row, den_row):
        # Appointer's path against each peer, and against the same path of --compare's checkout
        if num_row == den_row:
            return "—"
        if base_of[den_row] in APPOINTER_VARIANTS and den_row != f"{num_row}@{compare_label}":
            return ""
        vals = [None if tps[num_row][k] is None or tps[den_row][k] is None
                else tps[num_row][k] / tps[den_row][k] for k in range(passes)]
        return per_pass(vals, ".2f")

    lines = []
    heads = ["peer", "transitions/s" + (f" (pass {' / '.join(map(str, range(1, passes + 1)))})"
                                        if passes > 1 else "")]
    num_rows = [r for r in ("appointer-engine", "appointer-full") if r in tps]
    heads += [{"appointer-engine": "Appointer engine path ÷ peer",
               "appointer-full": "full path ÷ peer"}[r] for r in num_rows]
    table = []
    for row in rows:
        table.append([row, per_pass(tps[row], ",.0f")] + [ratio(r, row) for r in num_rows])
    lines.append(fmt_table(heads, table))

    goals = [("appointer-engine", "pystatemachine", 1.3), ("appointer-engine", "transitions-sqlalchemy", 3.0)]
    if compare_label:
        goals.append(("appointer-full", f"appointer-full@{compare_label}", 2.5))
    checked = [(a, b, x) for a, b, x in goals if a in tps and b in tps]
    if checked:
        lines.append("")
        lines.append("Issue 15's goals (same run, per pass):")
        for a, b, x in checked:
            vals = [None if tps[a][k] is None or tps[b][k] is None else tps[a][k] / tps[b][k]
                    for k in range(passes)]
            met = all(v is not None and v >= x for v in vals)
            lines.append(f"  {a} >= {x}x {b}: {per_pass(vals, '.2f')}  "
                         f"{'met' if met else 'NOT met'}")
    return "\n".join(lines)


def parent_main(args):
    known = PEERS + SYNCFULL_PEERS
    peers = PEERS + (SYNCFULL_PEERS if args.syncfull else []) if not args.only else [
        p.strip() for p in args.only.split(",") if p.strip()]
    if args.syncfull and args.only:  # the synchronous=FULL twin of each chosen Appointer peer
        peers += [f"{p}-syncfull" for p in peers
                  if f"{p}-syncfull" in SYNCFULL_PEERS and f"{p}-syncfull" not in peers]
    unknown = [p for p in peers if p not in PEER_FUNCS]
    if unknown:
        sys.exit(f"unknown peer(s): {unknown}; choose from {known}")
    if args.reps < 1 or args.passes < 1 or args.n < 1:
        sys.exit("--n, --reps and --passes must be at least 1")
    n = args.n

    # rows: (name shown, peer run in the child, appointer checkout or None for this one)
    compare_dir = compare_label = None
    if args.compare:
        compare_dir = os.path.realpath(args.compare)
        if not os.path.isfile(os.path.join(compare_dir, "appointer", "__init__.py")):
            sys.exit(f"--compare {args.compare}: no appointer package there (want a checkout of "
                     "Appointer, e.g. a `git worktree` of another commit)")
        compare_label = args.compare_label or git_describe(compare_dir)[0] or \
            os.path.basename(compare_dir)
    rows = []
    for p in peers:
        rows.append((p, p, None))
        if compare_dir and p in APPOINTER_VARIANTS:
            rows.append((f"{p}@{compare_label}", p, compare_dir))
    names = [r[0] for r in rows]
    base_of = {r[0]: r[1] for r in rows}

    from _machine import cpu_model

    versions = lib_versions()
    print(f"# Appointer peer benchmark  {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"# N={n} cases, 3 steps each (3N={3 * n} transitions), {args.reps} runs per peer"
          f"{f' in each of {args.passes} passes' if args.passes > 1 else ''}, median shown")
    print(f"# python {platform.python_version()}  sqlite {sqlite3.sqlite_version}  "
          f"cpus={os.cpu_count()}  {cpu_model()}  {platform.machine()}  {platform.platform()}")
    print("# " + "  ".join(f"{k}={v}" for k, v in versions.items()))
    here_head, here_subject = git_describe(PROJECT_ROOT)
    print(f"# appointer: {PROJECT_ROOT} at {here_head} {here_subject}")
    if compare_dir:
        head, subject = git_describe(compare_dir)
        print(f"# appointer@{compare_label}: {compare_dir} at {head} {subject}")
    print("# SQLite: WAL, synchronous=NORMAL, foreign_keys=ON, one BEGIN IMMEDIATE transaction per create/step",
          flush=True)

    runs = {r: [] for r in names}  # row -> [(pass, res, derived)]
    errors = {r: [] for r in names}
    # interleave repetitions across peers so slow drifts of a noisy host hit all peers alike
    for pass_no in range(1, args.passes + 1):
        for rep in range(args.reps):
            for row, peer, appointer_dir in rows:
                tag = f"{row}{f' pass {pass_no}' if args.passes > 1 else ''} run {rep + 1}"
                res = run_child(peer, n, args.dbdir, appointer_dir)
                if "error" in res:
                    errors[row].append(res["error"])
                    print(f"  [{tag}] FAILED:\n{res['error']}", flush=True)
                    continue
                if not res["verify"]["ok"] or not res.get("illegal_rejected"):
                    errors[row].append(f"verification failed: {res['verify']} "
                                       f"illegal_rejected={res.get('illegal_rejected')}")
                d = derive(res, n)
                runs[row].append((pass_no, res, d))
                verdict = ("ok" if res["verify"]["ok"] and res.get("illegal_rejected")
                           else f"{res['verify']['problems']} illegal_rejected={res.get('illegal_rejected')}")
                print(f"  [{tag}] {d['transitions_per_s']:.0f} transitions/s, "
                      f"create {d['creates_per_s']:.0f}/s, total {d['total_s']:.2f}s, "
                      f"peak RSS {d['peak_rss_mb']:.1f} MB, verify={verdict}", flush=True)

    med = {row: medians([d for _, _, d in runs[row]]) for row in names if runs[row]}
    tps = {row: [statistics.median(d["transitions_per_s"] for k, _, d in runs[row] if k == p)
                 if any(k == p for k, _, _ in runs[row]) else None
                 for p in range(1, args.passes + 1)]
           for row in names}

    print()
    print("Median figures (each column is the median over the runs independently"
          f"{', all passes together' if args.passes > 1 else ''})")
    headers = ["peer", "runs", "total s", "setup s", "create s", "steps s", "transitions/s", "(min-max)",
               "creates/s", "peak RSS MB", "DB MB", "process s"]
    table = []
    for row in names:
        if row not in med:
            table.append([row, 0, "FAILED"] + [""] * 9)
            continue
        m = med[row]
        table.append([row, m["runs"], f"{m['total_s']:.2f}", f"{m['setup_s']:.2f}", f"{m['create_s']:.2f}",
                      f"{m['steps_s']:.2f}", f"{m['transitions_per_s']:.0f}",
                      f"{m['tps_min']:.0f}-{m['tps_max']:.0f}", f"{m['creates_per_s']:.0f}",
                      f"{m['peak_rss_mb']:.1f}", f"{m['db_mb']:.2f}", f"{m['process_wall_s']:.2f}"])
    print(fmt_table(headers, table))

    print()

    def us(x):
        return f"{x:.1f}" if x < 10 else f"{x:.0f}"

    print("Where a transition's time goes (median microseconds per transition)")
    headers = ["peer", "per transition", "engine", "rest (SQL+ORM+glue)", "deserialize", "run engine",
               "serialize", "workflow JSON B"]
    table = []
    for row in names:
        if row not in med:
            continue
        m = med[row]
        timed = m["engine_timed"] > 0
        table.append([row, f"{m['us_per_transition']:.0f}",
                      us(m['engine_us_per_transition']) if timed else "-",
                      us(m['rest_us_per_transition']) if timed else "-",
                      f"{m['deserialize_us_per_transition']:.0f}" if "deserialize_us_per_transition" in m else "-",
                      f"{m['run_engine_us_per_transition']:.0f}" if "run_engine_us_per_transition" in m else "-",
                      f"{m['serialize_us_per_transition']:.0f}" if "serialize_us_per_transition" in m else "-",
                      f"{m['workflow_json_avg_bytes']:.0f}" if "workflow_json_avg_bytes" in m else "-"])
    print(fmt_table(headers, table))

    app_rows = [r for r in names if base_of[r] in APPOINTER_VARIANTS and r in med]
    if app_rows:
        print()
        print("Appointer peers: a step as its caller sees it (median microseconds per transition), and what it writes")
        headers = ["peer", "sync", "emails", "open tx", "advance()", "commit+close", "outbox rows: accept",
                   "consent", "appoint", "fixtures s"]
        table = []
        for row in app_rows:
            m = med[row]
            mail, sync = APPOINTER_VARIANTS[base_of[row]]
            table.append([row, sync, "yes" if mail else "no", us(m["tx_open_us_per_transition"]),
                          us(m["advance_us_per_transition"]), us(m["commit_close_us_per_transition"]),
                          f"{m.get('outbox_rows_per_accept', 0):.2f}", f"{m.get('outbox_rows_per_consent', 0):.2f}",
                          f"{m.get('outbox_rows_per_appoint', 0):.2f}", f"{m['fixtures_s']:.2f}"])
        print(fmt_table(headers, table))
        print("advance() = appointments.advance inside the transaction: BEGIN, load the case, engine.fire (checks,")
        print("  transitions machine, UPDATE with version check, audit INSERT, and with emails: link revocation,")
        print("  template context reads, recipients, token INSERT, render nb text+HTML, outbox INSERT per message);")
        print("commit+close = COMMIT (+ fsync of the WAL with synchronous=FULL) and closing the session;")
        print("fixtures s = reference data, coordinators and services (not in total s). The other peers write")
        print("  1 outbox row (400-byte body) per step; appointer-engine writes none.")
    print()
    print("total s = setup (the peer's library imports, BPMN parse / ORM mapping / Machine, schema)")
    print("          + create phase + 3 step phases; process s = whole child process incl. interpreter start")
    print("          and the post-run checks (not part of any other figure);")
    print("transitions/s = 3N / (sum of the 3 step phases); creates/s = N / create phase;")
    print("peak RSS = ru_maxrss of the fresh child process that ran the peer; DB MB = file size after close.")

    print()
    print(f"Ratio table (issue 15): median transitions/s of each pass ({args.reps} runs each), and "
          "Appointer's rate ÷ the peer's, pass by pass")
    print(ratio_table(names, base_of, tps, args.passes, compare_label))

    bad = {r: e for r, e in errors.items() if e}
    if bad:
        print()
        for r, es in bad.items():
            print(f"PROBLEMS for {r}: {len(es)} run(s)")
            for e in es[:2]:
                print("   " + str(e).replace("\n", "\n   "))

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"n": n, "reps": args.reps, "passes": args.passes, "versions": versions,
                       "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                       "cpus": os.cpu_count(), "cpu": cpu_model(), "platform": platform.platform(),
                       "appointer": {"dir": PROJECT_ROOT, "head": here_head},
                       "compare": ({"dir": compare_dir, "label": compare_label}
                                   if compare_dir else None),
                       "median": med, "median_transitions_per_s_by_pass": tps,
                       "errors": errors,
                       "runs": {r: [dict(res, pass_no=k, derived=d) for k, res, d in runs[r]]
                                for r in names}}, f, indent=1)
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="number of cases (default 2000)")
    ap.add_argument("--only", default="",
                    help=f"comma-separated subset of {','.join(PEERS + SYNCFULL_PEERS)}")
    ap.add_argument("--reps", type=int, default=3, help="runs per peer and pass, fresh DB each (default 3)")
    ap.add_argument("--passes", type=int, default=1,
                    help="run the whole interleaved set this many times; the ratio table shows "
                         "each pass's medians (default 1)")
    ap.add_argument("--compare", metavar="DIR", default=None,
                    help="also run the Appointer peers from the Appointer checkout DIR (e.g. a git "
                         "worktree of an older commit), as rows appointer-*@LABEL")
    ap.add_argument("--compare-label", metavar="LABEL", default=None,
                    help="the rows' label for --compare (default: DIR's git short HEAD)")
    ap.add_argument("--syncfull", action="store_true",
                    help="also run appointer-engine-syncfull and appointer-full-syncfull "
                         "(synchronous=FULL, Appointer's default); with --only, the twin of "
                         "each Appointer peer chosen")
    ap.add_argument("--dbdir", default=None, help="where the temporary DB files go (default: system temp dir)")
    ap.add_argument("--json", default=None, help="also write all raw results to this JSON file")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--db", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--appointer-dir", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(args.child, args.n, args.db, args.appointer_dir)
        return 0
    return parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
