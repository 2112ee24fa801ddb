"""Benchmark: 2,000 services with full reference groups, every appointment through all its
transitions, each transition its own transaction and commit — the same path the CLI and the
link pages take, minus process start-up.

    .venv/bin/python bench/appointments_bench.py [--services 2000] [--runs 3] [--sync FULL]

Two settings, each run --runs times, median printed:
  engine  the workflow file without its `notify` lines: state change + version check +
          audit row + link revocation + commit (what issue 2's target names);
  full    the workflow as shipped: also renders every email (nb, text + HTML) and stores it
          in the outbox, and issues the link tokens, in the same transaction.
Target (issue 2): at least 1,000 transitions/s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _workflows import without_mail  # noqa: E402  (bench/ is on sys.path when run as a script)

from appointer import appointments, db, reference, services  # noqa: E402
from appointer import settings as settings_mod  # noqa: E402
from appointer.clock import Clock  # noqa: E402
from appointer.engine import Actor  # noqa: E402
from appointer.models import Institution  # noqa: E402

REGIONS = ("sor-ost", "vest", "midt", "nord")


def build(n_services: int, workdir: str, sync: str = "FULL",
          mail: bool = True) -> tuple[float, int, int]:
    settings = settings_mod.load(env={}, db=os.path.join(workdir, "bench.sqlite"),
                                 sqlite_synchronous=sync)
    if not mail:
        settings = settings_mod.replace(settings, workflows_dir=without_mail(
            str(Path(settings_mod.ROOT) / "workflows"), workdir))
    clock = Clock(dt.date(2026, 3, 2))
    db.migrate(settings)
    with db.transaction(settings, clock) as tx:
        reference.seed(tx)
        reference.make_first_admin(tx, "admin@bench.example", "Admin", "sor-ost")
        admin = appointments.resolve_actor(tx.session, "admin@bench.example")
        for code in REGIONS:
            reference.add_coordinator(tx, f"coord@{code}.example", f"Coordinator {code}", code,
                                      actor=admin)
            reference.set_region_contact(tx, code, f"contact@{code}.example", actor=admin)
        insts = list(tx.session.exec(__import__("sqlmodel").select(Institution)))
    by_region = {code: [i for i in insts if i.region_code == code and i.kind == "hf"]
                 for code in REGIONS}
    actors = {}
    with db.transaction(settings, clock) as tx:
        for code in REGIONS:
            actors[code] = appointments.resolve_actor(tx.session, f"coord@{code}.example")

    transitions = 0
    cases = 0
    start = time.perf_counter()
    for n in range(n_services):
        home = REGIONS[n % 4]
        multi = n % 5 == 0
        host = by_region[home][n % len(by_region[home])]
        hosts = [host.name]
        if multi:
            second = REGIONS[(n + 1) % 4]
            hosts.append(by_region[second][n % len(by_region[second])].name)
        with db.transaction(settings, clock) as tx:
            svc = services.add_service(
                tx, name=f"Nasjonal tjeneste nr. {n}", hosts=hosts,
                kind="multiregional" if multi else "national",
                leader_name="Leder", leader_email=f"leder{n}@tjeneste.example")
            host_regions = {tx.session.get(Institution, h.institution_id).region_code
                            for h in tx.session.exec(__import__("sqlmodel").select(
                                services.ServiceHost).where(
                                services.ServiceHost.service_id == svc.id))}
        seats = []
        for code in REGIONS:
            pool = [i for i in by_region[code] if code not in host_regions or i.name not in hosts]
            seats.append((f"region:{code}", pool[n % len(pool)].name, code))
        if multi:
            seats.append(("service:1", hosts[0], home))
            seats.append(("service:2", hosts[1], REGIONS[(n + 1) % 4]))
        else:
            seats.append(("service", hosts[0], home))
            seats.append(("other:1", hosts[0], home))
        seats.append(("user:1", None, home))
        for i, (seat, inst, appointing) in enumerate(seats):
            user = seat.startswith("user")
            with db.transaction(settings, clock) as tx:
                fired, _ = appointments.propose_member(
                    tx, svc.id, seat, name=f"Kandidat {n}-{i}",
                    email=f"k{n}-{i}@example.no", institution=inst,
                    leader_name=None if user else "Leder", share="5 %", represents=None,
                    leader_email=None if user else f"l{n}-{i}@example.no",
                    actor=actors[appointing])  # the region that appoints the seat proposes
                case_id = fired.case.id
            transitions += 1
            cases += 1
            steps = ["accept", "appoint"] if user else ["accept", "consent", "appoint"]
            for trigger in steps:
                # the candidate and the leader answer through their links (as the link pages
                # act for them); the appointing region appoints
                actor = (actors[appointing] if trigger == "appoint" else
                         Actor(kind="candidate" if trigger == "accept" else "leader",
                               email=f"{'k' if trigger == 'accept' else 'l'}{n}-{i}@example.no"))
                with db.transaction(settings, clock) as tx:
                    appointments.advance(tx, case_id, trigger, actor)
                transitions += 1
    elapsed = time.perf_counter() - start
    db.dispose_all()
    return elapsed, transitions, cases


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--services", type=int, default=2000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--only", choices=["engine", "full"], help="run one setting only")
    p.add_argument("--sync", choices=["FULL", "NORMAL"], default="FULL",
                   help="SQLite synchronous setting (the default FULL survives a power cut)")
    args = p.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, SQLite synchronous={args.sync}, WAL")
    for label, mail in (("engine", False), ("full", True)):
        if args.only and args.only != label:
            continue
        rates = []
        for run in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory() as workdir:
                elapsed, transitions, cases = build(args.services, workdir, args.sync, mail)
            rate = transitions / elapsed
            rates.append(rate)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{label} run {run}: {args.services} services, {cases} appointments, "
                  f"{transitions} transitions in {elapsed:.1f} s = {rate:,.0f} transitions/s; "
                  f"peak RSS so far {peak:.0f} MiB")
        target = " (target ≥ 1,000)" if label == "engine" else ""
        print(f"{label} median: {statistics.median(rates):,.0f} transitions/s over "
              f"{args.runs} runs{target}")


if __name__ == "__main__":
    main()
