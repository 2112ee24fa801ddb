"""`appointer mail …` and the demo's mail, as a coordinator uses them."""

from __future__ import annotations

import datetime as dt
import mailbox
import re
import signal
import smtplib
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Cli

from appointer import db
from appointer.models import OutboxMessage

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def three_queued(steps):
    """Three invitations waiting in the outbox, the first written two hours ago."""
    sid = steps.service()
    ids = [steps.propose(sid, seat) for seat in ("region:vest", "region:midt", "region:nord")]
    with db.transaction(steps.settings, steps.clock) as tx:
        row = tx.session.get(OutboxMessage, 1)
        row.created_at = steps.clock.now() - dt.timedelta(hours=2, minutes=5)
    return ids


def test_send_delivers_and_says_so(cli, three_queued, smtp_sink):
    """`mail send` drains the outbox to the configured server and reports what it did."""
    result = cli("mail", "send", env={"APPOINTER_SMTP_PORT": str(smtp_sink.port)})
    assert result.output.startswith("sent 3, to retry later 0, failed 0")
    assert len(smtp_sink.received) == 3
    data = cli.json("mail", "send", env={"APPOINTER_SMTP_PORT": str(smtp_sink.port)})
    assert (data["sent"], data["error"]) == (0, None)


def test_send_to_a_server_that_is_down_exits_1_and_keeps_the_mail(cli, three_queued):
    """The failure is visible to cron (exit 1, a reason) and nothing is lost."""
    result = cli("mail", "send", expect=1, env={"APPOINTER_SMTP_PORT": str(free_port())})
    assert "Error: cannot reach the SMTP server 127.0.0.1:" in result.output
    assert "3 message(s) stay queued for the next run" in result.output
    assert cli.json("mail", "list")["counts"] == {"queued": 3, "sent": 0, "failed": 0}


def test_list_shows_what_waits_and_the_age_of_the_oldest(cli, three_queued):
    """The figure that tells a coordinator mail is stuck: the oldest queued message's age."""
    result = cli("mail", "list")
    assert result.output.startswith("Outbox: 3 queued (oldest 2 h 5 min old), 0 sent, 0 failed")
    assert "region-vest@kandidat.example" in result.output
    data = cli.json("mail", "list")
    assert data["oldest_queued_age_seconds"] // 60 == 125
    assert [m["template"] for m in data["messages"]] == ["appointment.candidate.invitation"] * 3
    assert cli.json("mail", "list", "--failed")["messages"] == []


def test_a_failed_message_is_listed_and_retried(cli, three_queued, smtp_sink):
    """A coordinator sees the failure with the server's answer, fixes the cause and retries;
    a sent message cannot be retried; an unknown id is an error."""
    smtp_sink.refuse["region-midt@kandidat.example"] = "550 5.1.1 User unknown"
    port = {"APPOINTER_SMTP_PORT": str(smtp_sink.port)}
    cli("mail", "send", env=port, expect=3)  # 3: a message failed for good
    failed = cli.json("mail", "list", "--failed")["messages"]
    assert [(m["id"], m["last_error"]) for m in failed] == [
        (2, "all recipients refused: region-midt@kandidat.example: 550 5.1.1 User unknown")]
    assert "550 5.1.1 User unknown" in cli("mail", "list", "--failed").output
    assert "Error: message 1 was sent at" in cli("mail", "retry", "1", actor="coord@vest.example", expect=1).output
    assert "no message 99" in cli("mail", "retry", "99", actor="coord@vest.example", expect=1).output
    cli("mail", "retry", expect=2)  # neither ids nor --failed
    del smtp_sink.refuse["region-midt@kandidat.example"]
    assert cli.json("mail", "retry", "--failed", actor="coord@vest.example") == {"queued": [2]}
    assert cli.json("mail", "list")["messages"][0]["attempts"] == 0
    assert cli.json("mail", "send", env=port)["sent"] == 1
    assert cli.json("mail", "list")["counts"] == {"queued": 0, "sent": 3, "failed": 0}


def test_preview_renders_without_sending_or_storing(cli, steps):
    """`mail preview` shows a case's message as its first recipient would get it, in either
    language and either part, and leaves the outbox and the links alone."""
    sid = steps.service()
    case = steps.propose(sid, "region:vest")
    out = cli("mail", "preview", "appointment.candidate.invitation", "--case", str(case)).output
    assert out.startswith("To: region-vest@kandidat.example\nSubject: Forespørsel om å bli medlem")
    assert "/t/PREVIEW-NOT-A-REAL-LINK" in out  # a placeholder, not a live token
    en = cli.json("mail", "preview", "appointment.member.letter", "--case", str(case),
                  "--lang", "en")
    assert (en["lang"], en["file"]) == ("en", "en/appointment.member.letter.j2")
    assert en["subject"].startswith("Appointment to the professional reference group")
    html = cli("mail", "preview", "appointment.group.notice", "--case", str(case), "--html")
    assert html.output.startswith("<!DOCTYPE html>")
    assert "(and 3 more)" in cli("mail", "preview", "appointment.group.notice",
                                 "--case", str(case)).output
    assert len(steps.outbox()) == 1
    bad = cli("mail", "preview", "appointment.nonsense", "--case", str(case), expect=1)
    assert "appointment.candidate.invitation" in bad.output
    assert "no appointment case 99" in cli("mail", "preview", "appointment.member.letter",
                                           "--case", "99", expect=1).output


@pytest.mark.backend_independent("the sink keeps a Maildir; no database")
def test_sink_runs_until_ctrl_c_and_keeps_a_maildir(tmp_path):
    """`mail sink` is a real SMTP server a person can point Appointer at; what it receives is
    a Maildir; Ctrl-C stops it cleanly."""
    maildir = tmp_path / "sink"
    proc = subprocess.Popen([str(BIN / "appointer"), "mail", "sink", "--port", "0", "--dir",
                             str(maildir)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        first = proc.stdout.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)", first).group(1))
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.sendmail("a@x.example", ["b@x.example"], b"Subject: Hei\r\n\r\nhallo\r\n")
        assert "  1: Hei" in [proc.stdout.readline().rstrip("\n") for _ in range(3)]
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, rest
    assert f"stopped; 1 message(s) in {maildir}" in rest
    assert len(mailbox.Maildir(str(maildir), create=False)) == 1


@pytest.mark.slow
@pytest.mark.backend_independent("the demo runs on its own SQLite file in --dir")
def test_the_demo_delivers_its_mail_to_a_local_maildir(tmp_path):
    """A new user running the demo sees the emails it caused: delivered over real SMTP to a
    Maildir in the demo folder, with who got how many."""
    cli = Cli(str(tmp_path / "yours.sqlite"))  # the demo never uses --db
    out_dir = tmp_path / "demo"
    result = cli("demo", "--dir", str(out_dir))
    maildir = out_dir / "mail"
    found = re.search(r"Emails: (\d+) delivered over SMTP to a local server, kept as a Maildir "
                      r"in (\S+)", result.output)
    assert found and found.group(2) == str(maildir)
    assert int(found.group(1)) == len(mailbox.Maildir(str(maildir), create=False)) > 40
    assert re.search(r"servicemiljo@helse-nord\.example +\d+ +group\.notice", result.output)
    # every step's mail went out as the demo went, before the case moved on: the invitation
    # and the leader's consent request too (mail still queued then would have been cancelled)
    assert re.search(r"erik\.lund@ahus\.example +\d+ +candidate\.invitation", result.output)
    assert re.search(r"hilde\.berg@ahus\.example +\d+ +leader\.consent_request", result.output)
    data = cli.json("demo", "--dir", str(tmp_path / "again"))  # (a fresh folder: see report)
    assert data["mail"]["received"] == int(found.group(1)) and data["mail"]["failed"] == 0
    assert sum(sum(c.values()) for c in data["mail"]["by_recipient"].values()) == int(
        found.group(1))


@pytest.mark.parametrize("command", ["send", "list", "retry", "preview", "sink"])
def test_every_mail_command_documents_itself_with_an_example(cli, command):
    """--help is the manual: each mail command says what it does and shows an example."""
    out = cli("mail", command, "--help").output
    assert "Example" in out and len(out.splitlines()) > 6


@pytest.mark.backend_independent("the sink keeps a Maildir; no database")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_sink_started_from_a_script_in_the_background_still_stops_on_a_signal(tmp_path, sig):
    """A sink a script started as a background job (which begins with SIGINT ignored) stops
    cleanly on SIGINT, and on `kill` (SIGTERM), instead of running on."""
    proc = subprocess.Popen(
        [str(BIN / "appointer"), "mail", "sink", "--port", "0", "--dir", str(tmp_path / "sink")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert "127.0.0.1:" in proc.stdout.readline()
        assert proc.stdout.readline() and "Ctrl-C" in proc.stdout.readline()
    finally:
        proc.send_signal(sig)
        try:
            rest, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, rest
    assert "stopped; 0 message(s)" in rest
