"""One audited path (issue 12, part 4): no module but audit.py writes audit rows, and every
command that changes something leaves an audit row naming who acted."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from conftest import ADMIN
from test_hostile_input import COMMANDS

import appointer

SO, VEST, NORD = ADMIN, "coord@vest.example", "coord@nord.example"  # ADMIN is Sør-Øst's
OUS, AHUS, UNN = "Oslo universitetssykehus HF", "Akershus universitetssykehus HF", "UNN"

# Commands that change nothing an audit row is about, and why.
EXEMPT = {
    "coordinator list": "reads", "region list": "reads", "institution list": "reads",
    "service history": "reads", "service list": "reads", "service show": "reads",
    "member history": "reads", "member list": "reads", "member show": "reads",
    "group show": "reads", "groups": "reads", "agenda": "reads", "calendar export": "reads",
    "report export": "reads", "report status": "reads", "workflow list": "reads",
    "workflow show": "reads", "audit list": "reads", "audit verify": "reads",
    "mail list": "reads", "mail preview": "reads", "db check": "reads",
    "db roles": "prints (or, --apply, creates) PostgreSQL logins and grants: no register data",
    "db backup": "copies the file", "db restore": "replaces the whole file (its own audit)",
    "init": "creates the schema; its first admin is audited as the system",
    "demo": "its own database", "serve": "a server: the link pages' answers go through "
    "the engine", "mail sink": "a local SMTP server",
    "remind": "the system's reminders (ReminderLog)", "tick": "remind + mail send",
    "mail send": "delivery: each message's outcome on its outbox row",
}


def test_no_module_outside_audit_inserts_audit_rows():
    """Only appointer/audit.py writes to the audit table: an ORM AuditEvent(...), a Core
    insert on its table, or SQL text inserting into auditevent anywhere else fails this."""
    root = Path(appointer.__file__).parent
    pattern = re.compile(r"(?<!class )AuditEvent\s*\(|insert\s*\(\s*(AuditEvent|_A\b)|"
                         r"insert\s+into\s+auditevent|AuditEvent\.__table__\.insert",
                         re.IGNORECASE)
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "audit.py" and "migrations" not in p.parts
                 and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
    assert pattern.search((root / "audit.py").read_text(encoding="utf-8"))  # the check bites


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_every_changing_command_leaves_an_audit_row_naming_its_actor(initialised, cli,
                                                                    tmp_path):
    """Each command that changes data, run once successfully, leaves (as its newest audit
    row) a row naming the coordinator who ran it; a new command must join the table below
    or EXEMPT."""
    ran: dict[str, str] = {}

    def run(command, *args, actor, today=None):
        if today:
            cli.today = today
        result = cli(*command.split(), *args, "--json", actor=actor)
        [row] = cli.json("audit", "list", "--limit", "1")
        assert row["actor"] == actor, (command, row)
        ran[command] = actor
        return result

    import json

    def js(result):
        return json.loads(result.stdout)

    run("coordinator add", "--email", "x@vest.example", "--name", "X", "--region", "vest",
        actor=ADMIN)
    run("coordinator remove", "x@vest.example", actor=ADMIN)
    run("region contact", "vest", "ny@vest.example", actor=ADMIN)
    run("institution add", "--name", "Sykehuset Nytt HF", "--region", "midt", "--orgnr",
        "123456785", actor=ADMIN)
    sid = js(run("service add", "--name", "Nasjonal behandlingstjeneste for test", "--kind",
                 "national", "--hf", OUS, "--established", "2015-01-01", "--leader-name",
                 "Leder", "--leader-email", "leder@ous.example", actor=SO))["id"]
    run("service edit", str(sid), "--note", "fra registeret", actor=SO)
    run("service volume", str(sid), "--year", "2025", "--patients", "17", actor=SO)
    app = js(run("service apply", "--name", "Nasjonal behandlingstjeneste for søknad",
                 "--kind", "national", "--hf", OUS, actor=SO))["id"]
    run("service advance", str(app), "submit", actor=SO)
    run("service import", str(resources.files("appointer.data").joinpath(
        "national_services.csv")), actor=SO)
    case = js(run("member propose", str(sid), "--seat", "region:nord", "--name", "Nina",
                  "--email", "nina@unn.example", "--institution", UNN, "--leader-name", "Ola",
                  "--leader-email", "ola@unn.example", "--share", "5 %", actor=NORD))["id"]
    run("member request", str(sid), "--seat", "region:vest", actor=VEST)
    for trigger in ("accept", "consent", "appoint"):
        run("member advance", str(case), trigger, *(
            ["--evidence", "by phone"] if trigger in ("accept", "consent") else []),
            actor=NORD)
    run("member edit", str(case), "--name", "Nina Berg", actor=NORD)
    run("member absence", str(case), "--since", "2026-03-02", actor=NORD)
    run("member absence", str(case), "--clear", actor=NORD)
    run("member import", str(resources.files("appointer.data").joinpath(
        "members_sample.csv")), actor=SO)
    run("group leader", str(sid), str(case), actor=SO)
    run("group meeting", str(sid), "--date", "2026-03-01", actor=SO)
    report = js(run("report open", "2026", "--service", str(sid), actor=SO,
                    today="2027-01-11"))
    rid = report["opened"][0]["id"]
    run("report submitter", str(sid), "--name", "Per", "--email", "per@ous.example",
        actor=SO)
    for part in ("service", "group", "region:nord"):
        run("report part", str(rid), part, "--file", _write(tmp_path, "p.md", "Tekst."),
            "--done", actor=SO if part != "region:nord" else NORD)
    run("report approve", str(rid), "--date", "2027-01-11", actor=SO)
    missing = [arg for code in ("sor-ost", "vest", "midt")
               for arg in ("--without-part", f"region:{code}")]
    run("report submit", str(rid), *missing, "--reason", "no member", actor=SO)
    run("report assess", str(rid), "--regional", "--file", _write(tmp_path, "a.md", "Bra."),
        actor=SO)
    run("report feedback", str(rid), "--file", _write(tmp_path, "f.md", "Takk."), actor=SO)
    message = cli.json("mail", "list")["messages"][0]["id"]
    run("mail retry", str(message), actor=VEST)

    every = {name for name, _ in COMMANDS}
    assert every - set(EXEMPT) - set(ran) == set(), "a changing command missing from the table"
    assert set(ran) & set(EXEMPT) == set()
