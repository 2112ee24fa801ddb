"""`appointer service import FILE.csv`: a realistic register of existing national services
goes in with its computed dates; a file with bad rows reports every one and stores nothing."""

from __future__ import annotations

from importlib import resources

import pytest
from conftest import ADMIN
from sqlmodel import func, select

from appointer import db
from appointer.clock import Clock
from appointer.models import AuditEvent, Service, ServiceHost

REGISTER = resources.files("appointer.data").joinpath("national_services.csv")
HEADER = "name,kind,hf,hf2,function,state,approved_on,established_on,predecessor,leader_email"


def stored(settings) -> tuple[int, int, int]:
    """(services, hosts, audit rows): all zero when an import stored nothing."""
    with db.transaction(settings, Clock()) as tx:
        return tuple(tx.session.exec(select(func.count()).select_from(t)).one()
                     for t in (Service, ServiceHost, AuditEvent))


def write(tmp_path, text: str, name="services.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return str(path)


def test_the_register_of_existing_services_imports_with_its_computed_dates(initialised, cli):
    """Every kind of service, real names and hosts; the rules give the dates the register
    implies (terms ending, evaluations due, a phase-out under way, successors linked)."""
    out = cli("service", "import", str(REGISTER), actor=ADMIN)
    assert "registered 31 services from national_services.csv" in out.stdout
    services = {d["name"]: d for d in cli.json("service", "list")}
    assert {d["kind"] for d in services.values()} == {
        "national", "multiregional", "competence", "centre", "network"}
    stem = services["Flerregional behandlingstjeneste for allogen stamcelletransplantasjon"]
    assert sorted(h["region"] for h in stem["hosts"]) == ["sor-ost", "vest"]

    def show(name):
        return cli.json("service", "show", str(services[name]["id"]))

    def due(name):
        return {d["rule"]: d for d in show(name)["deadlines"]}

    amming = due("Nasjonal kompetansetjeneste for amming")  # training, from 2021-01-01
    assert amming["competence_term_end"]["due_on"] == "2026-01-01"
    assert amming["continuation_initiative"]["due_on"] == "2024-07-01"
    assert amming["continuation_initiative"]["overdue"]
    sjeldne = due("Nasjonal kompetansetjeneste for sjeldne diagnoser")  # evaluated 2025-11-03
    assert sjeldne["next_evaluation"]["due_on"] == "2030-11-03"
    assert sjeldne["competence_term_end"]["due_on"] == "2031-01-01"
    assert not sjeldne["next_evaluation"]["overdue"]
    rehab = due("Nasjonal kompetansetjeneste for revmatologisk rehabilitering")
    assert rehab["reorganisation_decision"]["due_on"] == "2024-12-01"
    assert rehab["new_organisation_working"]["due_on"] == "2025-12-01"
    assert due("Flerregional behandlingstjeneste for allogen stamcelletransplantasjon")[
        "next_evaluation"]["due_on"] == "2018-06-01"
    ms = show("Nasjonal kompetansetjeneste for multippel sklerose")
    assert (ms["state"], ms["reorganisation_outcome"], ms["deadlines"]) == \
        ("phased_out", "network", [])
    assert [s["name"] for s in ms["successors"]] == [
        "Nasjonalt kvalitets- og kompetansenettverk for multippel sklerose"]
    centre = show("Nasjonalt senter for aldring og helse")
    assert [p["name"] for p in centre["predecessors"]] == [
        "Nasjonal kompetansetjeneste for aldring og helse"]
    assert centre["deadlines"] == []  # a centre is not evaluated as a national service
    overdue = {d["name"] for d in cli.json("service", "list", "--overdue")}
    assert "Nasjonal kompetansetjeneste for amming" in overdue
    assert "Nasjonal behandlingstjeneste for organtransplantasjon" not in overdue
    history = show("Nasjonal behandlingstjeneste for brannskader")["history"]
    assert [(h["trigger"], h["to"], h["comment"]) for h in history] == [
        ("register", "established", "imported from national_services.csv, line 7")]


def test_a_dry_run_checks_everything_and_stores_nothing(initialised, cli):
    """--dry-run reports what would be registered; the database is untouched."""
    before = stored(initialised)
    out = cli("service", "import", str(REGISTER), "--dry-run", actor=ADMIN)
    assert "would register 31 services" in out.stdout
    assert stored(initialised) == before


BAD = f"""{HEADER}
Nasjonal tjeneste A,national,Oslo universitetssykehus HF,,,established,,2019-03-04,,
Nasjonal tjeneste B,treatment,Oslo universitetssykehus HF,,,,,,,
Nasjonal tjeneste C,multiregional,Oslo universitetssykehus HF,,,,,,,
Nasjonal tjeneste D,competence,Helse Bergen HF,,,,,2021-01-04,,
Nasjonal tjeneste E,national,Sykehus som ikke finnes,,,,,,,
Nasjonal tjeneste F,national,Helse Bergen HF,,,approved,,,,
Nasjonal tjeneste G,national,Helse Bergen HF,,,established,2020-05-04,2019-05-06,,
Nasjonal tjeneste H,national,Helse Bergen HF,,,established,,2027-01-04,,
Nasjonal tjeneste I,national,Helse Bergen HF,,,established,,04.05.2020,,
Nasjonal tjeneste A,national,Helse Bergen HF,,,,,,,
Nasjonal tjeneste J,network,Helse Bergen HF,,,,,2023-01-02,Nasjonal tjeneste Q,
Nasjonal tjeneste K,national,Helse Bergen HF,,,,,2020-01-06,,ikke-en-adresse
Nasjonal tjeneste L,multiregional,Helse Bergen HF,Helse Stavanger HF,,,,,,
Nasjonal tjeneste M,national,Helse Bergen HF,,,sleeping,,,,
"""


def test_bad_rows_are_each_reported_with_why_and_nothing_is_stored(initialised, cli, tmp_path):
    """One transaction: a file with bad rows stores not even its good rows, and every bad
    row is named with its line, its CSV column and the rule it breaks."""
    before = stored(initialised)
    out = cli("service", "import", write(tmp_path, BAD), expect=1, actor=ADMIN)
    assert "12 errors in 12 of 14 rows; nothing stored" in out.stdout
    expected = [
        (3, "kind", "kind 'treatment' is not a kind of service"),
        (4, "hf", "exactly two institutions in two different regions"),
        (6, "hf", "no institution 'Sykehus som ikke finnes'"),
        (7, "approved_on", "a service that is approved needs approved_on"),
        (8, "established_on", "established_on 2019-05-06 is before approved_on 2020-05-04"),
        (9, "established_on", "established_on 2027-01-04 is after today"),
        (10, "established_on", "'04.05.2020' is not a date (use YYYY-MM-DD, or YYYY-MM"),
        (11, "name", "the name is also on line 2"),
        (12, "predecessor", "predecessor 'Nasjonal tjeneste Q' is neither in the file nor "
                             "registered"),
        (13, "leader_email", "leader email 'ikke-en-adresse' is not an email address"),
        (14, "hf", "must be in two different regions"),
        (15, "state", "state must be one of draft"),
    ]
    lines = out.stderr.splitlines()
    for line, column, reason in expected:
        assert any(x.startswith(f"Error: line {line}, column {column}: ") and reason in x
                   for x in lines), (line, reason, lines)
    assert not any(x.startswith("Error: line 5,") for x in lines)  # function unknown: fine
    assert stored(initialised) == before
    report = cli.json("service", "import", write(tmp_path, BAD), expect=1, actor=ADMIN)
    assert (report["state"], report["stored"]) == ("rejected", False)
    assert [(r["line"], r["column"]) for r in report["rejected"]] == [e[:2] for e in expected]
    assert stored(initialised) == before


def test_a_name_already_registered_is_rejected(initialised, cli, tmp_path):
    """Importing the same register twice adds nothing the second time."""
    cli("service", "import", str(REGISTER), actor=ADMIN)
    before = stored(initialised)
    out = cli("service", "import", str(REGISTER), expect=1, actor=ADMIN)
    assert "31 errors in 31 of 31 rows" in out.stdout
    assert "is already registered" in out.stderr
    assert stored(initialised) == before


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("name,kind,hf,colour\nA,national,Helse Bergen HF,blue\n", "unknown column(s) colour"),
    ("name,hf\nA,Helse Bergen HF\n", "the file has no column kind"),
    ("name,kind,hf\nA,national,Helse Bergen HF,extra\n", "line 2: more fields than the header"),
])
def test_a_file_that_is_not_a_register_is_refused_whole(initialised, cli, tmp_path, text,
                                                        message):
    """A wrong header or a ragged row is named before any row is looked at."""
    out = cli("service", "import", write(tmp_path, text), expect=1, actor=ADMIN)
    assert message in out.output
    assert stored(initialised)[0] == 0


def test_spreadsheet_exports_with_semicolons_and_a_bom_are_read(initialised, cli, tmp_path):
    """A CSV saved by a Norwegian spreadsheet (semicolons, UTF-8 with BOM) imports as is."""
    text = ("\ufeffname;kind;hf;established_on;last_evaluated_on\n"
            "Nasjonal behandlingstjeneste for Æ;national;Helse Førde HF;2020-02-03;2024-02-29\n")
    cli("service", "import", write(tmp_path, text), actor=ADMIN)
    shown = cli.json("service", "show", "Nasjonal behandlingstjeneste for Æ")
    assert shown["hosts"][0]["institution"] == "Helse Førde HF"
    assert {d["rule"]: d["due_on"] for d in shown["deadlines"]}["next_evaluation"] == "2029-02-28"
    latin = write(tmp_path, "name,kind,hf\nÆ,national,Helse Førde HF\n", "latin.csv", "latin-1")
    assert "is not UTF-8 text" in cli("service", "import", latin, expect=1, actor=ADMIN).output
