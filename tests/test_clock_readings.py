"""One clock, two readings (issue 11): the audit keeps the real time of each step beside the
effective date from --today; a case's steps run forward; links expire from the real time."""

from __future__ import annotations

import datetime as dt

import dbsql
from conftest import ADMIN
from weblive import links_to

from appointer.clock import Clock, to_oslo

COORD = {code: f"coord@{code}.example" for code in ("sor-ost", "vest", "midt", "nord")}
OUS = "Oslo universitetssykehus HF"
UNN = "Universitetssykehuset Nord-Norge HF"
CANDIDATE = "nina.berg@unn.example"


def propose(cli) -> int:
    service = cli.json("service", "add", "--name", "Tjeneste X", "--kind", "national", "--hf",
                       OUS, "--established", "2015-01-01", "--leader-name", "Per",
                       "--leader-email", "per@ous.example", actor=ADMIN)["id"]
    return cli.json("member", "propose", str(service), "--seat", "region:nord", "--name",
                    "Nina Berg", "--email", CANDIDATE, "--institution", UNN, "--leader-name",
                    "Ola", "--leader-email", "ola@unn.example", "--share", "5 %",
                    actor=COORD["nord"])["id"]


def audit(settings) -> list[tuple]:
    with dbsql.connect(settings.db) as con:
        return con.execute("SELECT trigger, at, recorded_at FROM auditevent "
                           "WHERE case_type = 'appointment' ORDER BY id").fetchall()


def moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_the_audit_keeps_the_real_time_beside_the_effective_date(initialised, cli):
    """A step recorded with --today in the past keeps that day as its date and the moment it
    was really written as `recorded_at`."""
    cli.today = "2026-01-15"
    before = dt.datetime.now(dt.UTC)
    propose(cli)
    after = dt.datetime.now(dt.UTC)
    [(trigger, at, recorded_at)] = audit(initialised)
    assert trigger == "propose" and to_oslo(moment(at)).date() == dt.date(2026, 1, 15)
    assert before - dt.timedelta(seconds=1) <= moment(recorded_at) <= after
    [shown] = cli.json("member", "history", "1")
    assert to_oslo(moment(shown["at"])).date() == dt.date(2026, 1, 15)
    assert moment(shown["recorded_at"]) == moment(recorded_at)  # `member history` shows both


def test_a_step_dated_before_the_previous_one_is_refused(initialised, cli):
    """With the case's last step on 2026-03-02, a step dated 2026-01-01 is refused (it would
    come before it), and nothing is written; the same day or later is fine."""
    case = propose(cli)
    cli.today = "2026-01-01"
    out = cli("member", "advance", str(case), "accept", "--evidence", "telefon", actor=COORD["nord"], expect=1)
    assert ("Error: case 1's last step was on 2026-03-02; a step dated 2026-01-01 would come "
            "before it") in out.stderr
    assert [row[0] for row in audit(initialised)] == ["propose"]
    cli.today = "2026-03-02"
    cli("member", "advance", str(case), "accept", "--evidence", "telefon", actor=COORD["nord"])
    assert [row[0] for row in audit(initialised)] == ["propose", "accept"]


def test_links_expire_from_the_real_time_not_from_today(initialised, cli, web, web_client):
    """A link issued with --today years in the past works now (it used to be born expired),
    and dies token_days (30) of real time after it was issued."""
    cli.today = "2021-06-01"
    propose(cli)
    [raw] = links_to(initialised, CANDIDATE)
    now = dt.datetime.now(dt.UTC)
    web.app.state.clock = Clock(fixed_real=now)
    assert web_client.get(f"/t/{raw}").status_code == 200
    web.app.state.clock = Clock(fixed_real=now + dt.timedelta(days=31))
    r = web_client.get(f"/t/{raw}")
    assert r.status_code == 410 and "Lenken er utløpt" in r.text


def test_everything_a_step_writes_carries_one_moment(initialised, cli):
    """A proposal writes the case, its audit row, the invitation and its link: all of them
    carry the same time, the moment the step was taken (not a few microseconds apart)."""
    case = propose(cli)
    with dbsql.connect(initialised.db) as con:
        state_since = con.execute("SELECT state_since FROM appointment WHERE id = ?",
                                  (case,)).fetchone()[0]
        at = con.execute("SELECT at FROM auditevent WHERE case_type = 'appointment' AND "
                         "case_id = ?", (case,)).fetchone()[0]
        mail = con.execute("SELECT created_at FROM outboxmessage WHERE case_id = ?",
                           (case,)).fetchall()
        links = con.execute("SELECT created_at FROM token WHERE case_id = ?",
                            (case,)).fetchall()
    assert mail and links
    assert {moment(str(v)) for v in [state_since, at, *(m[0] for m in mail),
                                     *(t[0] for t in links)]} == {moment(str(at))}
