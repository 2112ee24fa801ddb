"""A quiet start (issue 10, part 7): a register taken over with dates in the past mails no one
about the past. What had passed before Appointer knew of a service is backlog: once in the
coordinators' next digest, then only in `agenda --backlog`; group problems count from the day
of registration; approximate past deadlines are never reminded. Also: incomplete register
entries (host or function unknown) reach the coordinators' agenda and digest, never the
service."""

from __future__ import annotations

import dataclasses
import datetime as dt

import dbsql
from conftest import ADMIN
from oversight_helpers import add_service, full_group, queued, start_reminding

from appointer import deadlines

D = dt.date.fromisoformat
IMPORT_DAY = "2026-03-02"  # a Monday: that week's digest has not gone out yet

REGISTER = """name;kind;hf;function;state;approved_on;established_on;leader_email
Gammel behandlingstjeneste;national;Universitetssykehuset Nord-Norge HF;;established;2009-06-01;2010-03-01;leder@gammel.example
Kompetansetjeneste for X;competence;Helse Bergen HF;training;established;;2019-01-01;leder@kompetanse.example
Ny behandlingstjeneste;national;St. Olavs hospital HF;;approved;2025-09-01;;leder@ny.example
"""
COORDINATION = {f"{who}@{region}.example" for who in ("coord", "contact")
                for region in ("sor-ost", "vest", "midt", "nord")}


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _tick(cli, day: str, sink) -> list:
    """One `appointer tick` on `day`; the messages the SMTP server received from it."""
    before = len(sink.messages())
    cli.today = day
    cli("tick", env={"APPOINTER_SMTP_PORT": str(sink.port)})
    return sink.messages()[before:]


def test_an_imported_register_starts_quietly_with_the_backlog_once_in_the_digest(
        initialised, cli, smtp_sink, tmp_path):
    """After importing services with dates in the past, the first tick mails no service and
    no member: only the host regions' coordinators get their digest, with a backlog section
    listing what had already passed. The backlog is not repeated (same week, next weeks);
    `agenda --backlog` keeps listing it. What passes after the import is reminded as usual."""
    path = tmp_path / "register.csv"
    path.write_text(REGISTER, encoding="utf-8")
    cli.today = IMPORT_DAY
    cli("service", "import", str(path), actor=ADMIN)

    first = _tick(cli, IMPORT_DAY, smtp_sink)
    assert sorted(m["To"] for m in first) == sorted(
        f"{who}@{region}.example" for who in ("coord", "contact") for region in ("vest", "nord"))
    by_to = {m["To"]: _text(m) for m in first}
    nord, vest = by_to["coord@nord.example"], by_to["coord@vest.example"]
    assert "Etterslep (1): frister som alt var passert" in nord
    assert "Neste evaluering (om lag hvert 5. år) – frist 1. mars 2015 (passert)" in nord
    assert "Etterslep (3)" in vest
    for line in ("Initiativ til avvikling eller videreføring (18 måneder før virketiden utløper) "
                 "– frist 1. juli 2023 (passert)",
                 "Virketiden som kompetansetjeneste utløper (opplæring, 5 år) – frist 1. januar "
                 "2025 (passert)",
                 "Neste evaluering (om lag hvert 5. år) – frist 1. januar 2024 (passert)"):
        assert line in vest
    assert "i etterslep" in next(m for m in first if m["To"] == "coord@vest.example")["Subject"]
    assert "2010" not in nord and "Første årsrapport" not in nord  # passed: not the backlog's

    assert _tick(cli, "2026-03-04", smtp_sink) == []  # the same week: nothing more
    assert _tick(cli, "2026-03-09", smtp_sink) == []  # the next week: nothing is active yet

    # Two weeks after the import the empty groups are reminded, as any new problem: to the
    # services, counted from the import, with no word of the backlog.
    later = _tick(cli, "2026-03-16", smtp_sink)
    personal = [m for m in later if m["To"] not in COORDINATION]
    assert sorted(m["To"] for m in personal) == ["leder@gammel.example",
                                                  "leder@kompetanse.example", "leder@ny.example"]
    for m in personal:
        body = _text(m)
        assert "Ledig: plassen for" in body and "siden 2. mars 2026" in body
        assert "frist" in body and "(passert)" not in body.replace("– frist 16. mars 2026", "")
        assert "Neste evaluering" not in body and "Virketiden som" not in body
    digests = [_text(m) for m in later if m["To"] in COORDINATION]
    assert digests and not any("Etterslep" in d or "1. mars 2015" in d for d in digests)

    backlog = cli.json("agenda", "--backlog")
    assert sorted((i["service"], i["detail"]["rule"], i["due_on"]) for i in backlog) == [
        ("Gammel behandlingstjeneste", "next_evaluation", "2015-03-01"),
        ("Kompetansetjeneste for X", "competence_term_end", "2025-01-01"),  # from 2020
        ("Kompetansetjeneste for X", "continuation_initiative", "2023-07-01"),
        ("Kompetansetjeneste for X", "next_evaluation", "2024-01-01"),
    ]
    assert all(i["backlog"] and i["reminded"] == [] and i["next_reminder"] is None
               for i in backlog)
    assert not any(i["backlog"] for i in cli.json("agenda", "--within", "3650d"))
    shown = cli.json("service", "show", "Gammel behandlingstjeneste")
    assert shown["known_on"] == IMPORT_DAY
    assert [(d["rule"], d["backlog"]) for d in shown["deadlines"] if not d["done"]] == [
        ("next_evaluation", True)]

    # Ny behandlingstjeneste must be established by 1 September 2026: that deadline passes
    # after the import, so it is reminded as usual (90 days before, on 3 June).
    cli.today = "2026-06-02"
    cli("remind")
    mark = max([0] + [m["id"] for m in queued(initialised)])
    _tick(cli, "2026-06-03", smtp_sink)
    lifecycle = [(m["template"], m["to"], r) for m in queued(initialised, mark)
                 for r in m["rules"] if r.startswith("lifecycle.")]
    assert ("reminder.service", "leder@ny.example", "lifecycle.establishment_due") in lifecycle
    assert {to for _, to, _ in lifecycle} <= {"leder@ny.example"} | COORDINATION


def test_the_first_reminder_run_on_a_database_is_quiet_too(initialised, cli):
    """Services registered long ago but never reminded (no reminder run until now): what had
    passed before the first run is backlog; a second run does not turn it into reminders."""
    add_service(initialised, D("2020-02-03"), "Tjeneste A", established_on=D("2019-01-07"))
    cli.today = IMPORT_DAY
    run = cli.json("remind")
    assert [m for m in run["messages"] if m["role"] not in ("coordinator", "contact")] == []
    assert [i["detail"]["rule"] for i in cli.json("agenda", "--backlog")] == ["next_evaluation"]
    cli.today = "2026-03-09"
    again = cli.json("remind")
    assert [m for m in again["messages"] if m["role"] not in ("coordinator", "contact")] == []
    with dbsql.connect(initialised.db) as con:
        assert con.execute("SELECT due_on FROM reminderlog WHERE rule = 'first_run'"
                           ).fetchall() == [(IMPORT_DAY,)]


def test_a_missed_yearly_meeting_counts_from_the_first_run_like_any_group_problem(initialised,
                                                                                 cli):
    """A group with no meeting this year, first reminded after the meeting's due day (1
    September): its group leader and service are not mailed on that first run, but 14 days
    later, as for a problem that arose that day."""
    sid = add_service(initialised, D("2025-12-01"), "Tjeneste A")
    full_group(initialised, D("2025-12-01"), sid)

    def meeting_mail(day: str) -> list[str]:
        cli.today = day
        return sorted(m["role"] for m in cli.json("remind")["messages"]
                      if any(r["rule"] == "group.no_meeting.2026" for r in m["reminders"])
                      and m["role"] not in ("coordinator", "contact"))

    assert meeting_mail("2026-09-10") == []
    assert meeting_mail("2026-09-23") == []
    assert meeting_mail("2026-09-24") == ["group_leader", "service"]


def test_an_approximate_deadline_in_the_past_is_never_reminded(initialised, cli, monkeypatch):
    """A deadline computed from a date known only to the year lies in the past: it goes to the
    backlog instead of a reminder, even though Appointer knew of the service before it."""
    start_reminding(initialised, D("2020-01-06"))
    sid = add_service(initialised, D("2021-03-01"), "Tjeneste A", established_on=D("2021-03-01"))
    cli.today = "2026-03-02"  # the evaluation was due 1 March 2026, yesterday

    def reminded(data) -> list[str]:
        return [r["rule"] for m in data["messages"] if m["role"] == "service"
                for r in m["reminders"] if r["rule"].startswith("lifecycle.")]

    assert reminded(cli.json("remind", "--dry-run")) == ["lifecycle.next_evaluation"]
    assert cli.json("agenda", "--backlog") == []

    real = deadlines.service_deadlines
    monkeypatch.setattr(deadlines, "service_deadlines", lambda s, settings, today: [
        dataclasses.replace(d, approximate=True) for d in real(s, settings, today)])
    assert reminded(cli.json("remind", "--dry-run")) == []
    backlog = cli.json("agenda", "--backlog")
    assert [(i["subject_id"], i["detail"]["rule"], i["detail"]["approximate"])
            for i in backlog] == [(sid, "next_evaluation", True)]


def test_an_incomplete_service_is_on_the_coordinators_agenda_and_digest_not_mailed(
        initialised, cli, smtp_sink):
    """A service imported with no host, and a competence service with no function, are listed
    for completion: the host region's coordinators (all four when the host is unknown) see
    "host unknown — `appointer service edit N --hf …`" in `agenda` and in their digest; the
    service is never mailed about it, and nothing breaks on a service with no host."""
    start_reminding(initialised, D("2026-02-02"))
    hostless = add_service(initialised, D("2026-02-23"), "Uten vert")
    nofunction = add_service(initialised, D("2026-02-23"), "Uten funksjon", kind="competence",
                             function="training", hosts=("Helse Bergen HF",))
    with dbsql.connect(initialised.db) as con:  # as an import with the values unknown leaves it
        con.execute("DELETE FROM servicehost WHERE service_id = ?", (hostless,))
        con.execute("UPDATE service SET function = NULL WHERE id = ?", (nofunction,))

    cli.today = IMPORT_DAY
    items = [i for i in cli.json("agenda") if i["kind"] == "service.incomplete"]
    assert [(i["service_id"], i["label"], i["regions"]) for i in items] == [
        (hostless, f"host unknown — `appointer service edit {hostless} --hf …`",
         ["sor-ost", "vest", "midt", "nord"]),
        (nofunction, f"function unknown — `appointer service edit {nofunction} --function "
                     "training|competence_building`", ["vest"]),
    ]
    assert "service.incomplete" in [i["kind"] for i in cli.json("agenda", "--region", "nord")
                                    if i["service_id"] == hostless]
    cli("groups", "--gaps")  # a group with no host still has its seats checked

    sent = _tick(cli, IMPORT_DAY, smtp_sink)
    assert {m["To"] for m in sent} <= COORDINATION
    digests = {m["To"]: _text(m) for m in sent}
    for region in ("sor-ost", "vest", "midt", "nord"):
        assert (f"Vertsforetak ukjent — appointer service edit {hostless} --hf …"
                in digests[f"coord@{region}.example"])
    assert (f"Funksjon ukjent — appointer service edit {nofunction} --function "
            "training|competence_building" in digests["coord@vest.example"])
    assert "Funksjon ukjent" not in digests["coord@nord.example"]

    later = _tick(cli, "2026-03-09", smtp_sink)  # still incomplete: still on the digest
    assert "Vertsforetak ukjent" in {m["To"]: _text(m) for m in later}["coord@midt.example"]
    assert not any("ukjent" in _text(m) for m in later if m["To"] not in COORDINATION)


def test_a_reminder_step_that_fell_due_before_the_import_waits_for_the_next_step(
        initialised, cli, smtp_sink, tmp_path):
    """A deadline still ahead on import day whose first reminder step (90 days before) had
    already fallen due: the first tick mails the service nothing; the next step (30 days
    before) reaches it as usual."""
    path = tmp_path / "register.csv"
    path.write_text("name;kind;hf;state;approved_on;leader_email\n"
                    "Snart etablert;national;St. Olavs hospital HF;approved;2025-05-01;"
                    "leder@snart.example\n", encoding="utf-8")  # establish by 1 May 2026
    cli.today = IMPORT_DAY
    cli("service", "import", str(path), actor=ADMIN)
    first = _tick(cli, IMPORT_DAY, smtp_sink)
    assert all(m["To"] in COORDINATION for m in first)
    due_step = _tick(cli, "2026-04-01", smtp_sink)  # 30 days before 1 May
    assert "leder@snart.example" in [m["To"] for m in due_step]
