"""Email addresses: checked at input, a non-ASCII domain stored and sent in IDNA form, a
non-ASCII local part sent with SMTPUTF8 where the server offers it, and one address that
cannot be sent never stops the rest of a run (a real aiosmtpd server on loopback)."""

from __future__ import annotations

import dbsql
import pytest
from conftest import ADMIN
from test_mail_sender import queue, rows

from appointer import settings as settings_mod
from appointer.mail.sender import send_outbox
from appointer.mail.sink import Sink

FORDE = "bjorg@xn--helse-frde-6cb.no"  # bjorg@helse-førde.no
NO_UTF8 = "the server does not accept non-ASCII addresses (SMTPUTF8)"


@pytest.fixture
def plain_sink():
    """An SMTP server that does not offer SMTPUTF8 (as older relays do not)."""
    sink = Sink(smtputf8=False).start()
    yield sink
    sink.stop()


def via(settings, sink):
    return settings_mod.replace(settings, smtp_port=sink.port,
                                mail_from="Appointer <appointer@rhf.example>")


def count(db_path, table) -> int:
    with dbsql.connect(db_path) as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_non_ascii_domain_is_stored_and_delivered_in_idna_form(initialised, cli, clock,
                                                                 plain_sink):
    """`bjorg@helse-førde.no` is stored as its IDNA form and delivered so, even by a server
    without SMTPUTF8; `--as` finds a coordinator by either spelling."""
    added = cli.json("coordinator", "add", "--email", "Kari@Helse-Førde.no", "--name", "Kari",
                     "--region", "vest", actor=ADMIN)
    assert added["email"] == "kari@xn--helse-frde-6cb.no"
    cli("service", "add", "--name", "Tjeneste A", "--kind", "national", "--hf", "Helse Bergen HF",
        "--established", "2015-01-01", "--leader-name", "Leder", "--leader-email",
        "leder@helse-bergen.example", actor=ADMIN)
    case = cli.json("member", "propose", "1", "--seat", "region:vest", "--name", "Bjørg",
                    "--email", "bjorg@helse-førde.no", "--institution", "Førde",
                    "--leader-name", "Sjef", "--leader-email", "sjef@helse-førde.no",
                    actor="kari@helse-førde.no")
    assert (case["candidate_email"], case["leader_email"]) == (FORDE,
                                                               "sjef@xn--helse-frde-6cb.no")
    report = send_outbox(via(initialised, plain_sink), clock)
    assert (report.sent, report.failed, report.error) == (1, 0, None)
    [got] = plain_sink.received
    assert got.rcpt_tos == [FORDE] and got.message["To"] == FORDE


def test_a_row_queued_with_a_unicode_domain_is_sent_in_idna_form(initialised, clock,
                                                                 plain_sink):
    """A message queued before addresses were checked goes to the IDNA form of its domain."""
    settings = via(initialised, plain_sink)
    queue(settings, clock, "bjorg@helse-førde.no")
    assert send_outbox(settings, clock).sent == 1
    assert plain_sink.received[0].rcpt_tos == [FORDE]


def test_a_non_ascii_local_part_is_delivered_with_smtputf8(initialised, clock, smtp_sink):
    """A server that offers SMTPUTF8 gets `øystein@unn.no` as such, in the envelope and the
    To header; the other messages go as before."""
    settings = via(initialised, smtp_sink)
    queue(settings, clock, "a@x.example", "øystein@unn.no", "b@x.example")
    report = send_outbox(settings, clock, connections=1)
    assert (report.sent, report.failed, report.error) == (3, 0, None)
    got = {r.rcpt_tos[0]: r for r in smtp_sink.received}
    assert set(got) == {"a@x.example", "øystein@unn.no", "b@x.example"}
    assert "SMTPUTF8" in got["øystein@unn.no"].mail_options
    assert got["øystein@unn.no"].message["To"] == "øystein@unn.no"
    assert "SMTPUTF8" not in got["a@x.example"].mail_options
    assert {r.status for r in rows(settings, clock).values()} == {"sent"}


def test_without_smtputf8_that_message_alone_fails_and_every_other_is_delivered(
        initialised, clock, plain_sink):
    """Against a server without SMTPUTF8 the message to a non-ASCII local part fails at
    once, saying why; the others, before and after it on the same connection, arrive."""
    settings = via(initialised, plain_sink)
    ids = queue(settings, clock, "a@x.example", "øystein@unn.no", "b@x.example",
                ["c@x.example", "åse@unn.no"], "bjorg@helse-førde.no", "d@x.example")
    report = send_outbox(settings, clock, connections=1)
    assert (report.sent, report.failed, report.retry, report.error) == (4, 2, 0, None)
    stored = rows(settings, clock)
    for bad in (ids[1], ids[3]):
        assert (stored[bad].status, stored[bad].last_error) == ("failed", NO_UTF8)
    assert sorted(t for r in plain_sink.received for t in r.rcpt_tos) == [
        "a@x.example", "b@x.example", FORDE, "d@x.example"]


def test_without_smtputf8_a_non_ascii_reply_to_is_left_out_and_the_message_delivered(
        initialised, clock, plain_sink, smtp_sink):
    """A region's contact `servicemiljø@…` is every message's Reply-To. A server without
    SMTPUTF8 still gets the message, without that header, and the row says so; a server
    that offers SMTPUTF8 gets the header as it is."""
    contact = "servicemiljø@helse-nord.example"
    settings = via(initialised, plain_sink)
    [plain_id] = queue(settings, clock, "a@x.example", reply_to=contact)
    report = send_outbox(settings, clock, connections=1)
    assert (report.sent, report.failed, report.partial) == (1, 0, 1)
    [got] = plain_sink.messages()
    assert got["To"] == "a@x.example" and got["Reply-To"] is None
    stored = rows(settings, clock)[plain_id]
    assert (stored.status, stored.last_error) == (
        "sent", f"sent without its Reply-To {contact}: {NO_UTF8}")
    settings = via(initialised, smtp_sink)
    [utf8_id] = queue(settings, clock, "b@x.example", reply_to=contact)
    assert send_outbox(settings, clock, connections=1).partial == 0
    [got] = smtp_sink.messages()
    assert got["Reply-To"] == contact
    assert rows(settings, clock)[utf8_id].last_error is None


@pytest.mark.parametrize("address", [
    "a@b..no", "a b@c.no", "kari@helse-nord", "kari\x1b@helse-nord.no", "kari@helse\x07.no",
    '"kari"@helse-nord.no', "kari@[10.0.0.1]", "kari@helse-nord.no\nBcc: x@y.no",
    "kari@@helse-nord.no", "kari", "@helse-nord.no", "kari.@helse-nord.no",
    "k" * 300 + "@helse-nord.no"])
def test_an_invalid_address_is_refused_at_input_and_nothing_stored(initialised, cli, db_path,
                                                                   address):
    """Each command that takes an address refuses one that can never be delivered, with one
    Error line and exit 1, and stores nothing."""
    before = {t: count(db_path, t) for t in ("coordinator", "service", "appointment", "region")}
    attempts = [
        ["coordinator", "add", "--email", address, "--name", "X", "--region", "nord"],
        ["region", "contact", "nord", address],
        ["service", "add", "--name", "X", "--kind", "national", "--hf", "UNN",
         "--leader-name", "L", "--leader-email", address],
    ]
    for args in attempts:
        result = cli(*args, expect=1, actor=ADMIN)
        assert result.output.startswith("Error: ") and "is not an email address" in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert len(result.output) < 300  # a long input is not echoed back whole
    cli("service", "add", "--name", "T", "--kind", "national", "--hf", "UNN", "--established",
        "2015-01-01", "--leader-name", "L", "--leader-email", "l@unn.example", actor=ADMIN)
    result = cli("member", "propose", "1", "--seat", "region:vest", "--name", "K", "--email",
                 address, "--institution", "HUS", "--leader-name", "S", "--leader-email",
                 "s@hus.example", actor="coord@vest.example", expect=1)
    assert "candidate email" in result.output and "is not an email address" in result.output
    assert count(db_path, "coordinator") == before["coordinator"]
    assert count(db_path, "appointment") == before["appointment"]
    assert cli.json("region", "list")[3]["contact_email"] == "contact@nord.example"
