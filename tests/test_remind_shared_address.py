"""One address with several roles (the contact of two regions, a coordinator who is also a
service's leader) never stops the reminder run: it gets each distinct reminder once. A broken
database rule is reported as what it is, without the addresses in it."""

from __future__ import annotations

import re

import dbsql
import pytest
from conftest import ADMIN, ADMIN_INIT

from appointer import db, reference
from appointer.appointments import resolve_actor
from appointer.errors import DatabaseProblem


def _messages_to(db_path: str, address: str) -> list[str]:
    with dbsql.connect(db_path) as con:
        rows = con.execute("SELECT template, to_addrs FROM outboxmessage ORDER BY id").fetchall()
    return [t for t, to in rows if address in to]


def test_one_contact_for_two_regions_gets_both_digests_once(cli, db_path):
    """The issue's repro: the same address is the contact of Helse Vest and Helse Midt. The
    run succeeds, the address gets one digest for each region, and a second run adds none."""
    cli("init", *ADMIN_INIT)
    cli("region", "contact", "vest", "shared@rhf.example", actor=ADMIN)
    cli("region", "contact", "midt", "shared@rhf.example", actor=ADMIN)
    cli("service", "add", "--name", "Nasjonal X", "--kind", "multiregional", "--hf",
        "Helse Bergen HF", "--hf", "St. Olavs hospital HF", "--established", "2015-01-01",
        "--leader-name", "P", "--leader-email", "p@x.example", actor=ADMIN)
    first = cli("remind")
    assert "2 digest(s)" in first.stderr, first.stderr
    assert _messages_to(db_path, "shared@rhf.example") == ["reminder.digest"] * 2
    again = cli("remind")
    assert "0 reminder(s) and 0 digest(s)" in again.stderr
    assert len(_messages_to(db_path, "shared@rhf.example")) == 2


def test_a_coordinator_who_leads_a_service_gets_both_kinds_once(cli, db_path):
    """A coordinator of Helse Vest is also the leader of a Vest service: the service's own
    reminder and the region's digest both arrive, once each, across two runs."""
    cli("init", *ADMIN_INIT)
    cli("coordinator", "add", "--email", "both@rhf.example", "--name", "Both",
        "--region", "vest", actor=ADMIN)
    cli("service", "add", "--name", "Nasjonal Y", "--kind", "national", "--hf",
        "Helse Bergen HF", "--established", "2015-01-01", "--leader-name", "Both",
        "--leader-email", "both@rhf.example", actor=ADMIN)
    cli("remind")  # the first run: the past is backlog (a quiet start), the group is new
    before = len(_messages_to(db_path, "both@rhf.example"))
    cli.today = "2026-03-16"  # two weeks on: the empty seats are reminded
    cli("remind")
    cli("remind")
    assert sorted(_messages_to(db_path, "both@rhf.example")[before:]) == ["reminder.digest",
                                                                          "reminder.service"]


def test_a_broken_database_rule_is_named_not_called_a_conflict(initialised, clock):
    """A UNIQUE violation is reported as a broken rule of the database (the constraint
    named), never as "changed meanwhile", and without the values (addresses) that broke it."""
    with pytest.raises(DatabaseProblem) as caught:
        with db.transaction(initialised, clock) as tx:
            reference.add_coordinator(tx, "x@vest.example", "X", "vest", actor=resolve_actor(tx.session, ADMIN))
            tx.session.flush()
            tx.session.execute(
                db.text("INSERT INTO coordinator (email, name, region_code, active) "
                        "VALUES ('x@vest.example', 'X2', 'vest', TRUE)"))
    message = str(caught.value)
    # SQLite: "UNIQUE constraint failed: coordinator.email"; PostgreSQL names the index
    assert re.search(r"UNIQUE constraint failed: coordinator\.email|unique constraint "
                     r"\"coordinator_email_key\"", message), message
    assert "changed meanwhile" not in message and "x@vest.example" not in message
