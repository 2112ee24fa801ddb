"""Benchmark: drain 2,000 queued messages to a local aiosmtpd, beside stdlib smtplib sending
the same messages one by one on one connection.

    .venv/bin/python bench/mail_bench.py [--messages 2000] [--runs 3] [--connections 4,8]

The SMTP server (appointer.mail.sink.Sink, aiosmtpd) runs in its own process, so it does not
share the interpreter lock with the sender being measured. Two settings:
  (a) plain   the server answers at once;
  (b) relay   the server answers each message after 20 ms, like a remote relay.
Contestants, each timed from its first connect to the last message accepted:
  smtplib     the baseline: the same outbox rows, each built into the same MIME message by
              the same code (appointer.mail.message), sent with smtplib.sendmail one by one on
              one connection, and nothing written back;
  appointer   `send_outbox`: claims with leases, N concurrent aiosmtplib connections, outcomes
              written back as the server answers, all on a SQLite file (synchronous=FULL by default).
Also shown, for scale: smtplib sending pre-built bytes (transport only, no MIME building).
Targets (issue 3): (a) appointer ≥ 0.7× smtplib; (b) appointer ≥ 4× smtplib.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import platform
import smtplib
import sqlite3
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _machine import cpu_model  # noqa: E402  (bench/ is on sys.path when run as a script)

MAIL_FROM = "Appointer <appointer@rhf.example>"


# -- the server, in its own process -----------------------------------------------------------
def _serve(conn, delay: float) -> None:
    from appointer.mail.sink import Sink

    sink = Sink(delay=delay).start()
    conn.send(sink.port)
    while True:
        command = conn.recv()
        if command == "count":
            conn.send(len(sink.received))
        elif command == "clear":
            with sink.lock:
                sink.received.clear()
            conn.send(0)
        else:
            sink.stop()
            conn.send(0)
            return


class Server:
    def __init__(self, delay: float):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, delay), daemon=True)
        self.proc.start()
        self.port = self.conn.recv()

    def ask(self, command: str) -> int:
        self.conn.send(command)
        return self.conn.recv()

    def stop(self) -> None:
        self.ask("stop")
        self.proc.join(timeout=10)


# -- the queue --------------------------------------------------------------------------------
def bodies(settings) -> tuple[str, str, str]:
    """A real invitation (the longest message Appointer sends), rendered once."""
    from appointer.engine import Recipient
    from appointer.mail.render import render

    host = SimpleNamespace(name="Oslo universitetssykehus HF", region_code="sor-ost")
    region = SimpleNamespace(name="Helse Vest RHF", code="vest",
                             contact_email="servicemiljo@helse-vest.example")
    case = SimpleNamespace(id=1, seat="region:vest", state="proposed",
                           candidate_name="Frida Solheim", leader_name="Knut Aas", share="5 %",
                           represents="spesialisthelsetjenesten i Helse Vest RHF",
                           appointing_region="vest", appointed_on=None)
    service = SimpleNamespace(id=1, name="Nasjonal behandlingstjeneste for epilepsikirurgi",
                              name_en=None, kind="national")
    out = render(settings.templates_dir, "appointment.candidate.invitation", "nb", {
        "case": case, "service": service, "seat_kind": "region", "region": region,
        "institution": SimpleNamespace(name="Helse Bergen HF", region_code="vest"),
        "represents": case.represents, "hosts": [host], "sender": region, "link_days": 30,
        "recipient": Recipient("frida.solheim@helse-bergen.example", "Frida Solheim",
                               "candidate"),
        "link": "https://appointer.example.no/t/5Hc0dWxF3yq1m0sW0m8P2v3bQ9rT7kLz"})
    return out.subject, out.text, out.html


def fill(settings, clock, n: int) -> None:
    from sqlalchemy import insert

    from appointer import db
    from appointer.models import OutboxMessage
    from appointer.outbox import message_id

    db.migrate(settings)
    subject, text, html = bodies(settings)
    now = clock.now()
    rows = [dict(message_id=message_id(MAIL_FROM), template="appointment.candidate.invitation",
                 lang="nb", to_addrs=[f"kandidat{i}@example.no"], status="queued",
                 reply_to="servicemiljo@helse-vest.example", subject=subject, body_text=text,
                 body_html=html, attempts=0, created_at=now, next_attempt_at=now)
            for i in range(n)]
    with db.get_engine(settings).begin() as conn:
        conn.execute(insert(OutboxMessage.__table__), rows)


def load_rows(settings):
    from sqlalchemy import select

    from appointer import db
    from appointer.models import OutboxMessage

    with db.get_engine(settings).connect() as conn:
        return list(conn.execute(select(OutboxMessage.__table__)
                                 .order_by(OutboxMessage.__table__.c.id)))


# -- the contestants --------------------------------------------------------------------------
def smtplib_run(settings, prebuilt: bool) -> tuple[float, int]:
    from appointer.mail.message import envelope_sender, message_bytes

    rows = load_rows(settings)
    sender = envelope_sender(MAIL_FROM)
    ready = [message_bytes(r, MAIL_FROM) for r in rows] if prebuilt else None
    start = time.perf_counter()
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, local_hostname="bench",
                      timeout=30) as smtp:
        for i, row in enumerate(rows):
            data = ready[i] if prebuilt else message_bytes(row, MAIL_FROM)
            smtp.sendmail(sender, row.to_addrs, data)
    return time.perf_counter() - start, len(rows)


def appointer_run(settings, clock, connections: int) -> tuple[float, int]:
    from appointer.mail.sender import send_outbox

    start = time.perf_counter()
    report = send_outbox(settings, clock, connections=connections)
    elapsed = time.perf_counter() - start
    if report.error or report.failed or report.retry:
        raise SystemExit(f"appointer run went wrong: {report.as_dict()}")
    return elapsed, report.sent


def measure(label, server, n, runs, sync, fn) -> float:
    """Median messages/s over `runs` fresh databases of `n` queued messages."""
    from appointer import db
    from appointer import settings as settings_mod
    from appointer.clock import Clock

    rates = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as workdir:
            settings = settings_mod.load(
                env={}, db=os.path.join(workdir, "bench.sqlite"), sqlite_synchronous=sync,
                smtp_host="127.0.0.1", smtp_port=server.port, smtp_tls="none",
                mail_from=MAIL_FROM)
            clock = Clock(dt.date(2026, 3, 2))
            fill(settings, clock, n)
            server.ask("clear")
            elapsed, sent = fn(settings, clock)
            got = server.ask("count")
            db.dispose_all()
        if sent != n or got != n:
            raise SystemExit(f"{label}: sent {sent}, server received {got}, expected {n}")
        rates.append(n / elapsed)
    median = statistics.median(rates)
    runs_text = ", ".join(f"{r:,.0f}" for r in rates)
    print(f"  {label:<34} {median:>8,.0f} msg/s   (runs: {runs_text})", flush=True)
    return median


def machine() -> str:
    cpu = cpu_model()
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("aiosmtplib", "aiosmtpd"))
    return (f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}, SQLite "
            f"{sqlite3.sqlite_version}, {versions}")


def _settings():
    from appointer import settings as settings_mod

    return settings_mod.load(env={})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--connections", default="4,8",
                   help="comma-separated numbers of concurrent connections to try")
    p.add_argument("--sync", choices=["FULL", "NORMAL"], default="FULL",
                   help="SQLite synchronous setting (FULL, the default, survives a power cut)")
    p.add_argument("--only", choices=["plain", "relay"], help="run one setting only")
    args = p.parse_args()
    conns = [int(c) for c in args.connections.split(",")]
    _subject, text, html = bodies(_settings())
    print(machine())
    print(f"{args.messages} invitations ({len(text.encode()) / 1024:.1f} KiB text + "
          f"{len(html.encode()) / 1024:.1f} KiB HTML each), median of {args.runs} runs; "
          f"SQLite synchronous={args.sync}")
    settings_list = [("plain", 0.0, 0.7), ("relay", 0.02, 4.0)]
    for name, delay, target in settings_list:
        if args.only and args.only != name:
            continue
        title = "(a) plain local server" if name == "plain" else \
            "(b) a server answering each message after 20 ms"
        print(f"\n{title}")
        server = Server(delay)
        try:
            def run(label, fn, server=server):
                return measure(label, server, args.messages, args.runs, args.sync, fn)

            base = run("smtplib, one connection", lambda s, c: smtplib_run(s, prebuilt=False))
            if name == "plain":
                run("smtplib, pre-built bytes (transport)",
                    lambda s, c: smtplib_run(s, prebuilt=True))
            for n in conns:
                rate = run(f"appointer, {n} connections",
                           lambda s, c, n=n: appointer_run(s, c, n))
                verdict = "meets" if rate >= target * base else "MISSES"
                print(f"  {'':<34} = {rate / base:.2f}× smtplib ({verdict} the target "
                      f"≥ {target}×)")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
