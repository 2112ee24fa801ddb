"""Benchmark of the reminder run on a large register (not a test; run it by hand).

    .venv/bin/python bench/remind_bench.py                 # 2,000 and 20,000 services
    .venv/bin/python bench/remind_bench.py --scales 1 --runs 3   # 2,000 only (~1 min)
    .venv/bin/python bench/remind_bench.py --services 500 --scales 1

Builds a register of N services with full reference groups and a realistic spread of states
and dates (bulk inserts: this measures `remind`, not the appointment workflow), then times,
each as the median of --runs runs:
  - `first`: `remind.run_once` on a fresh copy (nothing reminded yet: the worst case, with
    every due reminder, digest and link rendered and stored);
  - `again`: the same day once more (everything already sent: the steady state of an hourly
    cron);
  - `cli`: `python -m appointer remind` in a subprocess on a fresh copy (wall time, with the
    interpreter's start-up, imports, compiling the mail templates it uses, and exit).
    Python's own bytecode (.pyc) is used only if it exists; with PYTHONDONTWRITEBYTECODE
    set and no installed .pyc, each run also compiles appointer's modules.
Target: `first` and `cli` under 2 s for 2,000 services, under 12x that for 20,000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import cpu_model  # bench/ is on sys.path when run as a script
from sqlalchemy import insert
from sqlmodel import select

from appointer import db, reference, remind
from appointer import settings as settings_mod
from appointer.appointments import resolve_actor
from appointer.clock import Clock
from appointer.models import (
    Appointment,
    Institution,
    Meeting,
    ReminderLog,
    Service,
    ServiceHost,
)

TODAY = dt.date(2026, 3, 2)  # a Monday: the weekly digests go out too
REGIONS = ("sor-ost", "vest", "midt", "nord")
OPEN_STATES = (("requested", 0.2), ("proposed", 0.35), ("awaiting_consent", 0.3), ("ready", 0.15))


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, 30), tzinfo=dt.UTC)


def build(path: str, n: int, seed: int = 5) -> dict:
    """A register of n services; returns counts."""
    rnd = random.Random(seed)
    settings = settings_mod.load(env={}, db=path, sqlite_synchronous="NORMAL")
    db.migrate(settings)
    with db.transaction(settings, Clock(TODAY)) as tx:
        reference.seed(tx)
        reference.make_first_admin(tx, "admin@bench.example", "Admin", "sor-ost")
        admin = resolve_actor(tx.session, "admin@bench.example")
        for code in REGIONS:
            for k in range(2):
                reference.add_coordinator(tx, f"coord{k}@{code}.example", f"C{k} {code}", code,
                                          actor=admin)
            reference.set_region_contact(tx, code, f"contact@{code}.example", actor=admin)
        insts = list(tx.session.exec(select(Institution)))
    by_region = {r: [i for i in insts if i.region_code == r and i.kind == "hf"] for r in REGIONS}
    services, hosts, cases, meetings, leaders = [], [], [], [], {}
    case_id = 0
    for sid in range(1, n + 1):
        roll = rnd.random()
        kind = "multiregional" if roll < 0.1 else ("competence" if roll < 0.2 else "national")
        state_roll = rnd.random()
        state = ("draft" if state_roll < 0.03 else "submitted" if state_roll < 0.05
                 else "approved" if state_roll < 0.10 else "established")
        approved_on = TODAY - dt.timedelta(days=rnd.randint(30, 420)) if state == "approved" else None
        created = TODAY - dt.timedelta(days=rnd.randint(400, 4000))
        home = rnd.choice(REGIONS)
        places = [rnd.choice(by_region[home])]
        if kind == "multiregional":
            other = rnd.choice([r for r in REGIONS if r != home])
            places.append(rnd.choice(by_region[other]))
        services.append(dict(
            id=sid, name=f"Nasjonal tjeneste {sid}", kind=kind,
            function="training" if kind == "competence" else None,
            leader_name=f"Leder {sid}", leader_email=f"leder{sid}@tjeneste.example",
            state=state, version_id=1, lang="nb", approved_on=approved_on,
            established_on=created if state == "established" else None,
            created_at=_at(created), state_since=_at(created)))
        for pos, inst in enumerate(places, start=1):
            hosts.append(dict(service_id=sid, position=pos, institution_id=inst.id))
        if state != "established":
            continue
        located = {p.region_code for p in places}
        seats = [(f"region:{r}", r, rnd.choice([i for i in by_region[r] if i not in places]))
                 for r in REGIONS]
        seats += ([(f"service:{p}", inst.region_code, inst) for p, inst in
                   enumerate(places, start=1)] if kind == "multiregional"
                  else [("service", home, places[0])])
        seats.append(("user:1", home, None))
        for seat, region, inst in seats:
            r = rnd.random()
            appointed_on = created + dt.timedelta(days=rnd.randint(0, 300))
            if r < 0.04:  # vacant: the last member left
                case_id += 1
                ended = TODAY - dt.timedelta(days=rnd.randint(1, 200))
                cases.append(_case(case_id, sid, seat, region, inst, "ended", ended,
                                   appointed_on=appointed_on, ended_on=ended))
                continue
            if r < 0.09:  # an open case for the seat
                case_id += 1
                st = _pick(rnd, OPEN_STATES)
                if seat.startswith("user") and st == "awaiting_consent":
                    st = "ready"
                since = TODAY - dt.timedelta(days=rnd.randint(0, 60))
                cases.append(_case(case_id, sid, seat, region, inst, st, since))
                continue
            case_id += 1
            absent = (TODAY - dt.timedelta(days=rnd.randint(10, 200))
                      if rnd.random() < 0.02 else None)
            cases.append(_case(case_id, sid, seat, region, inst, "appointed", appointed_on,
                               appointed_on=appointed_on, absent_since=absent))
            if seat.startswith("region:") and region not in located and sid not in leaders \
                    and rnd.random() < 0.92:
                leaders[sid] = case_id
        if rnd.random() < 0.3:  # some history: a candidate who declined long ago
            case_id += 1
            cases.append(_case(case_id, sid, "region:nord", "nord", by_region["nord"][0],
                               "declined", created + dt.timedelta(days=20)))
        m = rnd.random()
        if m < 0.85:
            held = dt.date(TODAY.year - (1 if m < 0.6 else 0), rnd.randint(1, 2 if m >= 0.6 else 12),
                           rnd.randint(1, 28))
            meetings.append(dict(service_id=sid, held_on=held, created_at=_at(held)))
    for s in services:
        s["group_leader_id"] = leaders.get(s["id"])
    engine = db.get_engine(settings)
    with engine.begin() as conn:
        conn.execute(insert(Service), services)
        conn.execute(insert(ServiceHost), hosts)
        conn.execute(insert(Appointment), cases)
        conn.execute(insert(Meeting), meetings)
        # Appointer has reminded since before the oldest service: nothing is a quiet-start
        # backlog (appointer/backlog.py), so `first` still has every due reminder to send.
        conn.execute(insert(ReminderLog), [dict(
            rule="first_run", subject_type="run", subject_id=0, due_on=TODAY - dt.timedelta(
                days=4001), recipient="", created_at=_at(TODAY - dt.timedelta(days=4001)))])
    db.dispose_all()
    return {"services": n, "appointments": len(cases), "meetings": len(meetings)}


def _pick(rnd, weighted):
    x, acc = rnd.random(), 0.0
    for value, w in weighted:
        acc += w
        if x < acc:
            return value
    return weighted[-1][0]


def _case(cid, sid, seat, region, inst, state, since, **extra):
    user = seat.startswith("user")
    return dict(
        id=cid, service_id=sid, seat=seat, appointing_region=region, state=state, version_id=1,
        candidate_name=None if state == "requested" else f"Kandidat {cid}",
        candidate_email=None if state == "requested" else f"k{cid}@medlem.example",
        institution_id=inst.id if inst else None,
        leader_name=None if user or state == "requested" else f"Leder {cid}",
        leader_email=None if user or state == "requested" else f"l{cid}@medlem.example",
        share="5 %", represents="x", lang="nb", created_at=_at(since), state_since=_at(since),
        appointed_on=extra.get("appointed_on"), ended_on=extra.get("ended_on"),
        end_reason="left" if extra.get("ended_on") else None,
        absent_since=extra.get("absent_since"))


def fresh_copy(base: str, work: Path, name: str) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(str(work / name) + suffix).unlink(missing_ok=True)
    shutil.copy(base, work / name)  # no connection is open on `base` here
    return str(work / name)


def timed(fn):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(n: int, runs: int, work: Path) -> dict:
    base = str(work / f"base-{n}.sqlite")
    t_build, out = timed(lambda: build(base, n))
    out["build_s"] = t_build
    firsts, agains, clis = [], [], []
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPOINTER_")}
    for _ in range(runs):
        settings = settings_mod.load(env={}, db=fresh_copy(base, work, f"run-{n}.sqlite"))
        took, result = timed(lambda s=settings: remind.run_once(s, Clock(TODAY)))
        firsts.append(took)
        out.update(reminders=result["reminders"], digests=result["digests"],
                   items=result["items"])
        agains.append(timed(lambda s=settings: remind.run_once(s, Clock(TODAY)))[0])
        db.dispose_all()
        cmd = [sys.executable, "-m", "appointer", "--db",
               fresh_copy(base, work, f"cli-{n}.sqlite"), "--today", TODAY.isoformat(), "remind"]
        took, proc = timed(lambda c=cmd: subprocess.run(c, capture_output=True, text=True,
                                                          env=env))
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        clis.append(took)
    out.update(first_s=statistics.median(firsts), again_s=statistics.median(agains),
               cli_s=statistics.median(clis))
    return out


def machine() -> str:
    cpu = cpu_model()
    return (f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=2000)
    ap.add_argument("--scales", nargs="+", default=["1", "10"],
                    help="multiples of --services to run: 1 10, or 1,10")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", help="keep the databases here (default: a temporary folder)")
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="remind-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    print(f"medians of {args.runs} runs; today {TODAY} (a Monday: digests too)")
    header = (f"{'services':>9} {'cases':>7} {'items':>6} {'queued':>7} {'first s':>8} "
              f"{'again s':>8} {'cli s':>7} {'build s':>8}")
    print(header)
    results = []
    for scale in (int(s) for part in args.scales for s in part.split(",") if s):
        r = measure(args.services * scale, args.runs, work)
        results.append(r)
        print(f"{r['services']:>9} {r['appointments']:>7} {r['items']:>6} "
              f"{r['reminders'] + r['digests']:>7} {r['first_s']:>8.2f} {r['again_s']:>8.2f} "
              f"{r['cli_s']:>7.2f} {r['build_s']:>8.1f}", flush=True)
    if len(results) > 1:
        a, b = results[0], results[-1]
        print(f"ratio x{b['services'] / a['services']:.0f} data: first {b['first_s'] / a['first_s']:.1f}x, "
              f"cli {b['cli_s'] / a['cli_s']:.1f}x (target < 12x)")
    if not args.dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
