"""`appointer remind` as cron runs it: once per case, rule and due day; a catch-up after a gap
sends one message per case and rule; overlapping runs in two processes never both send; a dry
run changes nothing; exit status and the log line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections import Counter

import dbsql
import pytest
from oversight_helpers import (
    add_service,
    advance,
    count,
    full_group,
    propose,
    queued,
    start_reminding,
)

from appointer import db, remind
from appointer.clock import Clock

D = dt.date.fromisoformat
START = D("2026-01-05")  # a Monday


@pytest.fixture
def busy(initialised):
    """Appointer reminding since 2025. Two services: A (registered 5 January) with a full group
    but for two seats whose candidates do not answer (one waits for the candidate, one for the
    leader, one is ready for Helse Midt); B approved and registered 15 June 2025, with no group
    at all."""
    settings = initialised
    start_reminding(settings, D("2025-06-02"))
    a = add_service(settings, START, "Tjeneste A")
    full_group(settings, START, a, skip=("region:vest", "region:midt", "user:1"))
    cases = {
        "vest": propose(settings, START, a, "region:vest", "vera"),
        "midt": propose(settings, START, a, "region:midt", "mona"),
        "user": propose(settings, START, a, "user:1", "ulf"),
    }
    advance(settings, START, cases["midt"], "accept")  # waits for her leader
    advance(settings, START, cases["user"], "accept")  # a user representative: ready
    b = add_service(settings, D("2025-06-15"), "Tjeneste B", hosts=("Helse Bergen HF",),
                    state="approved", approved_on=D("2025-06-15"))
    return settings, {"a": a, "b": b, **cases}


def _signature(messages):
    return Counter((m["template"], m["to"], tuple(m["rules"])) for m in messages)


def test_a_second_run_sends_nothing(busy, cli):
    """Cron may run hourly: what one run queued, the next run (same day or later the same
    week) does not queue again."""
    settings, _ = busy
    cli.today = "2026-01-19"
    first = cli("remind")
    sent = queued(settings)
    assert sent, "the first run found reminders due"
    before = (count(settings, "outboxmessage"), count(settings, "reminderlog"))
    again = cli("remind")
    assert (count(settings, "outboxmessage"), count(settings, "reminderlog")) == before
    assert "queued 0 reminder(s) and 0 digest(s)" in again.stderr
    assert f"queued {sum(m['template'] != 'reminder.digest' for m in sent)} reminder(s)" \
        in first.stderr
    for day in ("2026-01-20", "2026-01-21"):  # nothing new falls due on these days
        cli.today = day
        cli("remind")
    assert count(settings, "outboxmessage") == before[0]


def test_a_late_run_catches_up_with_one_message_per_case_and_rule(busy, cli):
    """The machine was off for eight weeks: one run sends each waiting person one reminder
    (not one per missed day or step), the escalations and the vacant group reach the regions
    in one digest each, and the next days add nothing until the next step falls due."""
    settings, ids = busy
    cli.today = "2026-03-02"  # a Monday, eight weeks after the cases began
    cli("remind")
    sent = queued(settings)
    personal = {(m["template"], m["to"]): m["rules"] for m in sent
                if m["template"] != "reminder.digest"}
    assert personal == {
        ("reminder.case.candidate", "vera@member.example"): ["appointment.proposed.remind"],
        ("reminder.case.leader", "boss.mona@member.example"):
            ["appointment.awaiting_consent.remind"],
        # B was approved on 15 June 2025 and has no group: one message with every vacant seat
        ("reminder.service", "leader@tjeneste-b.example"):
            ["group.vacant_seat:region:midt", "group.vacant_seat:region:nord",
             "group.vacant_seat:region:sor-ost", "group.vacant_seat:region:vest",
             "group.vacant_seat:service", "group.vacant_seat:user:1"],
    }
    # one reminder per case and rule: the latest step, not the missed ones before it
    con = dbsql.connect(settings.db)
    logged = con.execute("SELECT rule, subject_id, due_on FROM reminderlog "
                         "WHERE recipient LIKE '%@member.example'").fetchall()
    con.close()
    assert sorted(logged) == sorted([
        ("appointment.proposed.remind", ids["vest"], "2026-01-19"),
        ("appointment.awaiting_consent.remind", ids["midt"], "2026-01-19"),
    ])
    digests = sorted(m["to"] for m in sent if m["template"] == "reminder.digest")
    # every region has something (B's vacant seat for it, at least): one digest per person
    assert digests == sorted(f"{who}@{region}.example" for who in ("coord", "contact")
                             for region in ("sor-ost", "vest", "midt", "nord"))
    by_region = {m["to"]: m["rules"] for m in sent if m["template"] == "reminder.digest"}
    assert by_region["coord@midt.example"] == sorted([
        "digest", "appointment.awaiting_consent.remind", "appointment.awaiting_consent.escalate",
        "group.vacant_seat:region:midt"])  # Mona's leader has not answered; B's seat
    assert by_region["coord@sor-ost.example"] == sorted([
        "digest", "appointment.ready.remind", "appointment.ready.escalate",  # Ulf, ready
        "group.vacant_seat:region:sor-ost"])
    total = count(settings, "outboxmessage")
    for day in ("2026-03-03", "2026-03-04", "2026-03-05"):
        cli.today = day
        cli("remind")
    assert count(settings, "outboxmessage") == total


def test_a_dry_run_changes_nothing_and_shows_what_would_go(busy, cli):
    """`remind --dry-run` lists who would get what, and leaves the database as it was (no
    outbox rows, no reminder log, no links issued)."""
    settings, _ = busy
    tables = ("outboxmessage", "reminderlog", "token", "auditevent")
    before = {t: count(settings, t) for t in tables}
    cli.today = "2026-01-12"
    result = cli("remind", "--dry-run")
    assert {t: count(settings, t) for t in tables} == before
    assert "would queue 3 reminder(s) and 8 digest(s)" in result.stderr
    assert "vera@member.example" in result.stdout and "reminder.case.candidate" in result.stdout
    data = cli.json("remind", "--dry-run")
    assert data["state"] == "dry-run" and len(data["messages"]) == 11
    assert {t: count(settings, t) for t in tables} == before
    cli("remind")
    assert _signature(queued(settings)) == Counter(
        (m["template"], m["to"], tuple(sorted(r["rule"] for r in m["reminders"])))
        for m in data["messages"])


def test_reminders_carry_a_fresh_answer_link_and_the_region_as_reply_to(busy, cli):
    """The candidate's reminder has a working link to answer (a new single-use token for
    accept/decline) and replies go to the appointing region's contact."""
    settings, ids = busy
    cli.today = "2026-01-12"
    cli("remind")
    con = dbsql.connect(settings.db)
    body, reply_to = con.execute(
        "SELECT body_text, reply_to FROM outboxmessage WHERE template = 'reminder.case.candidate'"
    ).fetchone()
    tokens = con.execute("SELECT triggers, case_state, role FROM token WHERE case_id = ? "
                         "AND revoked_at IS NULL", (ids["vest"],)).fetchall()
    con.close()
    assert reply_to == "contact@vest.example"
    assert "Vi minner om forespørselen du fikk 5. januar 2026" in body
    assert re.search(r"Svar her: http\S+/t/[A-Za-z0-9_-]{20,}", body)
    assert ('["accept", "decline"]', "proposed", "candidate") in tokens
    assert len(tokens) == 2  # the invitation's link and the reminder's


def test_a_candidate_who_reads_english_gets_the_reminder_in_english(busy, cli):
    """The case's language decides the reminder's: English when the candidate was proposed
    with --lang en, Norwegian otherwise."""
    settings, ids = busy
    with dbsql.connect(settings.db) as con:
        con.execute("UPDATE appointment SET lang = 'en' WHERE id = ?", (ids["vest"],))
    cli.today = "2026-01-12"
    cli("remind")
    by_to = {m["to"]: m for m in queued(settings)}
    assert by_to["vera@member.example"]["subject"].startswith(
        "Reminder: invitation to join the reference group of Tjeneste A")
    assert by_to["boss.mona@member.example"]["subject"].startswith("Påminnelse: godkjenning av deltakelsen")


@pytest.mark.slow
def test_two_overlapping_runs_in_two_processes_send_each_reminder_once(busy, tmp_path):
    """Two cron jobs start at the same moment on the same SQLite file: together they queue
    exactly what one run alone queues — nothing twice, nothing lost — and both exit 0."""
    settings, _ = busy
    for i in range(2, 10):  # more groups, so that the runs have more to do at once
        sid = add_service(settings, START, f"Tjeneste {i}")
        full_group(settings, START, sid, leader_seat=None, skip=("user:1",))
        propose(settings, START, sid, "user:1", f"user{i}")
    alone = dataclasses.replace(settings, db=dbsql.sibling(settings.db, "alone"))
    # SQLite's backup API: copying the file itself while this process has it open would drop
    # this process's locks on it (POSIX locks die with any close of the file).
    db.dispose_all()
    dbsql.clone(settings.db, alone.db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPOINTER_")}
    for day in ("2026-01-12", "2026-01-19"):
        procs = [subprocess.Popen(
            [sys.executable, "-m", "appointer", "--db", settings.db, "--today", day, "remind",
             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
        sizes = sorted(len(json.loads(out)["messages"]) for out, _ in outs)
        assert sizes[0] == 0 < sizes[1], "one run queued the day's reminders, the other none"
        remind.run_once(alone, Clock(D(day)))  # the same day with a single run
    together = queued(settings)
    assert len(together) > 30
    assert _signature(together) == _signature(queued(alone))


def test_exit_status_and_one_log_line_without_personal_data(busy, cli, tmp_path):
    """Cron mails what a run prints: one line on stderr with counts and no names or addresses;
    exit 0 even when there is nothing to do; exit 1 with a one-line reason (and nothing
    queued) when the run cannot work."""
    settings, _ = busy
    cli.today = "2026-01-12"
    ok = cli("remind")
    assert ok.exit_code == 0 and ok.stdout == ""
    assert len(ok.stderr.splitlines()) == 1 and "@" not in ok.stderr
    assert "queued 3 reminder(s) and 8 digest(s)" in ok.stderr
    idle = cli("remind")  # nothing (left) to do is a success too
    assert idle.exit_code == 0 and "queued 0 reminder(s) and 0 digest(s)" in idle.stderr

    before = count(settings, "outboxmessage")
    cli.today = "2026-01-19"
    broken = cli("remind", expect=1, env={"APPOINTER_TEMPLATES_DIR": str(tmp_path)})
    assert broken.stderr.startswith("Error: remind failed: TemplateMissing")
    assert len(broken.stderr.splitlines()) == 1 and "Traceback" not in broken.output
    assert count(settings, "outboxmessage") == before

    nowhere = cli("--db", str(tmp_path / "none.sqlite"), "remind", expect=1)
    assert nowhere.stderr.startswith("Error: no Appointer database")
    assert len(nowhere.stderr.splitlines()) == 1
