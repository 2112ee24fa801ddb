"""`appointer member import FILE.csv`: the members groups already have go in as appointed,
audited and silent; a file with a bad row stores nothing and names every error by line and
column; a composition rule broken in the past is a warning, not a refusal."""

from __future__ import annotations

import datetime as dt
from importlib import resources

from conftest import ADMIN
from sqlmodel import func, select

from appointer import db
from appointer.clock import Clock
from appointer.models import Appointment, AuditEvent, OutboxMessage, Token
from tests.conftest import TODAY

SAMPLE = resources.files("appointer.data").joinpath("members_sample.csv")
REGISTER = resources.files("appointer.data").joinpath("national_services.csv")
CO = "coord@vest.example"
HEADER = "service,seat,name,email,institution,appointed_on,group_leader,leader_name,leader_email"


def counts(settings) -> tuple[int, int, int, int]:
    """(cases, audit rows, outbox rows, tokens)."""
    with db.transaction(settings, Clock()) as tx:
        return tuple(tx.session.exec(select(func.count()).select_from(t)).one()
                     for t in (Appointment, AuditEvent, OutboxMessage, Token))


def write(tmp_path, text: str) -> str:
    path = tmp_path / "members.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_sample_register_imports_silently_and_the_groups_show_it(initialised, cli):
    """Every row of the sample becomes an appointed member with an audit row naming the file
    and line; nothing is emailed and no link issued; group show lists the members, the
    designated leader, and only the seats still vacant."""
    cli("service", "import", str(REGISTER), actor=ADMIN)
    before = counts(initialised)
    out = cli("member", "import", str(SAMPLE), actor=ADMIN)
    assert out.stdout.strip() == "imported 13 members of 3 reference groups from members_sample.csv"
    assert out.stderr == ""
    cases, audits, outbox, tokens = counts(initialised)
    assert (cases - before[0], outbox, tokens) == (13, before[2], before[3])
    members = cli.json("member", "list", "--service", "Nasjonal behandlingstjeneste for brannskader")
    assert {m["state"] for m in members} == {"appointed"} and len(members) == 6
    siri = next(m for m in members if m["candidate_name"] == "Siri Aune")
    assert siri["appointed_on"] == "2018"  # the year is all the register knew
    [row] = cli.json("member", "history", str(siri["id"]))
    assert (row["trigger"], row["actor"], row["to"], row["comment"]) == (
        "import", ADMIN, "appointed", "imported from members_sample.csv, line 4")
    group = cli.json("group", "show", "Nasjonal behandlingstjeneste for brannskader")
    assert group["leader"]["name"] == "Tor Eliassen"
    assert {s["status"] for s in group["seats"]} == {"appointed"}
    partial = cli.json("group", "show", "Nasjonal behandlingstjeneste for avansert trykkammerbehandling")
    assert [s["seat"] for s in partial["seats"] if s["status"] == "vacant"] == [
        "region:vest", "region:midt", "region:nord", "user:1"]


def test_a_dry_run_checks_and_stores_nothing(initialised, cli):
    """--dry-run says what would be imported; nothing changes."""
    cli("service", "import", str(REGISTER), actor=ADMIN)
    before = counts(initialised)
    out = cli("member", "import", str(SAMPLE), "--dry-run", actor=ADMIN)
    assert "would import 13 members of 3 reference groups" in out.stdout
    assert counts(initialised) == before


def test_every_error_of_every_row_is_named_by_line_and_column(steps, cli, tmp_path):
    """One bad row rejects the file; each error names its line and CSV column (never an
    option), and nothing at all is stored."""
    sid = steps.service(name="Tjeneste A")
    steps.propose(sid, "region:nord", region="nord")  # an open case holds region:nord
    before = counts(steps.settings)
    text = f"""{HEADER}
Tjeneste A,region:vest,Good Row,good@example.no,Helse Bergen HF,2020-01-01,no,L,l@example.no
Tjeneste X,region:vest,A,a@example,Helse Bergen HF,2020-01-01,,,
Tjeneste A,region:nowhere,B,b@example.no,Helse Bergen HF,2020-01-01,,,
Tjeneste A,region:midt,C,c@example,Sykehus som ikke finnes,2020-02-30,,,
Tjeneste A,region:vest,D,d@example.no,Helse Fonna HF,2027-01-01,,,
Tjeneste A,region:nord,E,e@example.no,Nordlandssykehuset HF,2020,maybe,,
Tjeneste A,user:1,,good@example.no,,2020-05,yes,L,l2@example.no
"""
    out = cli("member", "import", write(tmp_path, text), actor=ADMIN, expect=1)
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("line ")]
    expected = [
        ("line 3, column service:", "no service 'Tjeneste X'"),
        ("line 3, column email:", "'a@example' is not an email address"),
        ("line 4, column seat:", "no region 'nowhere'"),
        ("line 5, column institution:", "no institution 'Sykehus som ikke finnes'"),
        ("line 5, column appointed_on:", "not a date: '2020-02-30'"),
        ("line 5, column email:", "'c@example' is not an email address"),
        ("line 6, column appointed_on:", "2027-01-01 is in the future"),
        ("line 6, column seat:", "seat region:vest of service 1 is also on line 2"),
        ("line 7, column group_leader:", "'maybe': use yes or no"),
        ("line 7, column seat:", "seat region:nord already has case 1 in state proposed"),
        ("line 8, column name:", "the candidate needs a name (name)"),
        ("line 8, column leader_name:", "a user representative has no line manager"),
        ("line 8, column email:", "good@example.no is already in this group's seat region:vest"),
        ("line 8, column group_leader:", "the group leader is one of the regional members"),
    ]
    for where, what in expected:
        assert any(e.startswith(where) and what in e for e in errors), (where, what, errors)
    assert len(errors) == len(expected), errors
    assert "--" not in out.stderr
    assert out.stderr.rstrip().endswith(
        "Error: 14 error(s) in 6 of 7 rows of members.csv; nothing stored")
    assert counts(steps.settings) == before
    data = cli.json("member", "import", write(tmp_path, text), actor=ADMIN, expect=1)
    assert data["state"] == "rejected" and len(data["errors"]) == 14


def test_a_broken_rule_of_the_past_is_a_warning_per_group(steps, cli, tmp_path):
    """A past appointment that broke the core mandate (a member for the host region from the
    host itself, two members for one region, a leader from the host region) is stored, and
    each broken rule is a warning naming the group."""
    sid = steps.service(name="Tjeneste B", hosts=("Helse Bergen HF",))
    text = f"""{HEADER}
Tjeneste B,region:vest,V,v@example.no,Helse Bergen HF,2019-03-01,yes,L,lv@example.no
Tjeneste B,other:1,O,o@example.no,Helse Fonna HF,2019-03-01,,,
Tjeneste B,region:nord,N,n@example.no,Universitetssykehuset Nord-Norge HF,2019,,,
"""
    out = cli("member", "import", write(tmp_path, text), actor=ADMIN)
    assert "imported 3 members of 1 reference groups" in out.stdout
    warnings = [ln for ln in out.stderr.splitlines() if ln.startswith("Warning: ")]
    assert all(w.startswith(f"Warning: service {sid} (Tjeneste B): ") for w in warnings)
    text = "\n".join(warnings)
    assert "line 2: the member for the service's own region (Helse Vest RHF) must come from " \
           "another institution than the host, Helse Bergen HF" in text
    assert "2 members represent Helse Vest RHF" in text
    assert "the group leader belongs to a region where the service is located" in text
    group = cli.json("group", "show", str(sid))
    assert group["leader"]["name"] == "V"
    [designation] = [a for a in cli.json("service", "show", str(sid))["history"]
                     if a["trigger"] == "designate_leader"]
    assert designation["actor"] == ADMIN


def test_after_an_import_only_the_missing_seat_is_reminded(steps, cli, tmp_path):
    """The filled seats are not vacant; the seat the register lacks is reminded as usual."""
    sid = steps.service(name="Tjeneste C")
    text = f"""{HEADER}
Tjeneste C,region:sor-ost,S,s@example.no,Akershus universitetssykehus HF,2019-01-07,,,
Tjeneste C,region:vest,V,v@example.no,Helse Bergen HF,2019-01-07,,,
Tjeneste C,region:midt,M,m@example.no,St. Olavs hospital HF,2019-01-07,yes,,
Tjeneste C,service,T,t@example.no,Oslo universitetssykehus HF,2019-01-07,,,
Tjeneste C,user:1,U,u@example.no,,2019-01-07,,,
"""
    cli("member", "import", write(tmp_path, text), actor=ADMIN)
    cli("remind")  # reminding starts on the day of the import (a quiet start counts from it)
    cli.today = (TODAY + dt.timedelta(days=14)).isoformat()
    run = cli.json("remind")
    rules = {r["rule"] for m in run["messages"] for r in m["reminders"]
             if r["subject_type"] == "group" and r["subject_id"] == sid}
    assert rules == {"group.vacant_seat:region:nord"}


def test_a_coordinator_registers_only_the_members_of_seats_their_region_appoints(steps, cli,
                                                                                 tmp_path):
    """Who may appoint a seat may register the member it has (the represented region for a
    regional seat, the host region for the service's own); another region's row is refused
    by line, and nothing is stored. An admin may register any seat's member."""
    sid = steps.service(name="Tjeneste D", hosts=("Helse Bergen HF",))
    before = counts(steps.settings)
    text = f"""{HEADER}
Tjeneste D,region:vest,V,v@example.no,Helse Stavanger HF,2019-03-01,,,
Tjeneste D,service,T,t@example.no,Helse Bergen HF,2019-03-01,,,
Tjeneste D,region:nord,N,n@example.no,Universitetssykehuset Nord-Norge HF,2019,,,
"""
    out = cli("member", "import", write(tmp_path, text), actor=CO, expect=1)
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("line ")]
    assert errors == ["line 4, column seat: only a coordinator of Helse Nord RHF (nord) (the "
                      "region that appoints seat region:nord), or an admin, may register its "
                      "member"]
    assert counts(steps.settings) == before
    vest_only = "\n".join(text.splitlines()[:3]) + "\n"
    out = cli("member", "import", write(tmp_path, vest_only), actor=CO)
    assert "imported 2 members of 1 reference groups" in out.stdout
    nord_only = "\n".join([HEADER, text.splitlines()[3]]) + "\n"
    cli("member", "import", write(tmp_path, nord_only), actor="coord@midt.example", expect=1)
    out = cli("member", "import", write(tmp_path, nord_only), actor=ADMIN)
    assert "imported 1 members of 1 reference groups" in out.stdout
    assert {m["seat"] for m in cli.json("member", "list", "--service", str(sid))} == {
        "region:vest", "service", "region:nord"}
