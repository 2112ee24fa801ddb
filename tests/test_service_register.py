"""Taking over a real register (issue 10, part 1): what is known goes in, what is not is
stored as unknown and listed for completion, never guessed; dates known only to the year
give approximate deadlines; mergers and renames keep their history."""

from __future__ import annotations

import pytest
from conftest import ADMIN
from sqlmodel import func, select

from appointer import db
from appointer.clock import Clock
from appointer.models import AuditEvent, Service, ServiceHost

# Real national services (appointer/data/national_services.csv, the RHFs' public pages), with
# the gaps a register copied from public pages really has. Today is 2026-03-02 (conftest).
REGISTER = """\
name,kind,hf,function,state,approved_on,established_on,last_evaluated_on,phased_out_on,reorganisation_outcome,predecessors,previous_names,note
Nasjonal behandlingstjeneste for avansert trykkammerbehandling,Nasjonal behandlingstjeneste,Helse Bergen HF,,,2011,2011,,,,,,approved with the first round of 2011
Nasjonal behandlingstjeneste for retinoblastom,nasjonal behandlingstjeneste,,,,,2011-01-01,,,,,,host not on the source page
Flerregional behandlingstjeneste for allogen stamcelletransplantasjon,Flerregional behandlingstjeneste,Oslo universitetssykehus HF; Helse Bergen HF,,,,2011-01-01,2013-06,,,,,
Nasjonal kompetansetjeneste for amming,Nasjonal kompetansetjeneste,Oslo universitetssykehus HF,training,,,2011,,,,,,
Senter for sjeldne diagnoser,nasjonal kompetansetjeneste,Oslo universitetssykehus HF,,phased_out,,2004,,2013-12-31,other,,,
Senter for sjeldne funksjonshemninger,nasjonal kompetansetjeneste,Oslo universitetssykehus HF,,phased_out,,2004,,2013-12-31,other,,,
Nasjonal kompetansetjeneste for sjeldne diagnoser,Nasjonal kompetansetjeneste,Oslo universitetssykehus HF,,,,2014,,,,Senter for sjeldne diagnoser; Senter for sjeldne funksjonshemninger,,a merger of the two centres
Nasjonal kompetansetjeneste for nevromuskulære sykdommer,Nasjonal kompetansetjeneste,Universitetssykehuset Nord-Norge HF,competence_building,,,2011-01-01,,,,,Nasjonalt kompetansesenter for arvelige og medfødte nevromuskulære sykdommer@2014-01-01,
Nasjonal kompetansetjeneste for porfyrier,nasjonal kompetansetjeneste,Helse Bergen HF,competence_building,,,2021-03,,,,,,
Nasjonalt kvalitets- og kompetansenettverk for multippel sklerose,Nasjonalt kvalitets- og kompetansenettverk,Helse Bergen HF,,,,2023-01-01,,,,,,
Nasjonalt senter for e-helseforskning,nasjonalt senter,Universitetssykehuset Nord-Norge HF,,,,2016,,,,,,
Samisk nasjonal kompetansetjeneste – psykisk helsevern og rus,Nasjonal kompetansetjeneste,,,,,2001,,,,,,
"""


def write(tmp_path, text: str, name="register.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def counts(settings) -> tuple[int, int, int]:
    with db.transaction(settings, Clock()) as tx:
        return tuple(tx.session.exec(select(func.count()).select_from(t)).one()
                     for t in (Service, ServiceHost, AuditEvent))


@pytest.fixture
def register(initialised, cli, tmp_path):
    """The register imported; its services by name."""
    out = cli("service", "import", write(tmp_path, REGISTER), actor=ADMIN)
    assert "registered 12 services from register.csv; 3 incomplete" in out.stdout
    return {d["name"]: d for d in cli.json("service", "list")}


def shown(cli, register, name):
    return cli.json("service", "show", str(register[name]["id"]))


def due(cli, register, name):
    return {d["rule"]: d for d in shown(cli, register, name)["deadlines"]}


def test_a_real_register_with_gaps_imports_completely_and_lists_every_gap(register, cli):
    """Unknown hosts and functions are stored as unknown (nothing guessed) and every gap is
    listed for completion, with the command that completes it."""
    retino = register["Nasjonal behandlingstjeneste for retinoblastom"]
    assert retino["hosts"] == [] and retino["missing"] == ["hf"]
    gaps = {d["name"]: d["missing"] for d in cli.json("service", "list", "--incomplete")}
    assert gaps == {
        "Nasjonal behandlingstjeneste for retinoblastom": ["hf"],
        "Nasjonal kompetansetjeneste for sjeldne diagnoser": ["function"],
        "Samisk nasjonal kompetansetjeneste – psykisk helsevern og rus": ["hf", "function"],
    }  # the phased-out centres lack a function too, but no rule needs it any more
    assert register["Nasjonal kompetansetjeneste for sjeldne diagnoser"]["function"] is None
    text = cli("service", "show", str(retino["id"])).stdout
    assert (f"host unknown — complete it with `appointer service edit {retino['id']} --hf "
            "…`") in text
    assert "host not on the source page" in text  # the note is kept and shown
    assert "hosts          unknown" in text
    listing = cli("service", "list", "--incomplete").stdout
    assert "(unknown)" in listing and "hf, function" in listing
    stem = register["Flerregional behandlingstjeneste for allogen stamcelletransplantasjon"]
    assert [h["institution"] for h in stem["hosts"]] == [
        "Oslo universitetssykehus HF", "Helse Bergen HF"]
    assert {d["kind"] for d in register.values()} == {
        "national", "multiregional", "competence", "centre", "network"}


def test_year_only_dates_give_approximate_deadlines(register, cli):
    """A date known only to the year or month is kept so, and what is computed from it is
    shown as approximate ("about 2016"); a term counted from 2020 is exact again."""
    name = "Nasjonal behandlingstjeneste for avansert trykkammerbehandling"
    data = shown(cli, register, name)
    assert data["date_precision"] == {"approved_on": "year", "established_on": "year"}
    evaluation = {d["rule"]: d for d in data["deadlines"]}["next_evaluation"]
    assert (evaluation["due_on"], evaluation["approximate"], evaluation["due_text"]) == \
        ("2016-01-01", True, "about 2016")
    text = cli("service", "show", str(register[name]["id"])).stdout
    assert "established              2011" in text and "about 2016" in text
    stem = due(cli, register, "Flerregional behandlingstjeneste for allogen stamcelletransplantasjon")
    assert stem["next_evaluation"]["due_text"] == "about 2018-06"  # evaluated 2013-06
    porfyri = due(cli, register, "Nasjonal kompetansetjeneste for porfyrier")  # 2021-03, 10 y
    assert porfyri["competence_term_end"]["due_text"] == "about 2031-03"
    assert porfyri["continuation_initiative"]["due_text"] == "about 2029-09"
    amming = due(cli, register, "Nasjonal kompetansetjeneste for amming")  # established 2011
    assert amming["competence_term_end"]["due_on"] == "2025-01-01"  # 2020 + 5 years
    assert not amming["competence_term_end"]["approximate"]
    assert amming["continuation_initiative"]["due_on"] == "2023-07-01"


def test_competence_terms_count_from_2020_and_need_the_function(register, cli):
    """A competence service established before 2020 has its term counted from 2020-01-01
    (guide to reg. 1706 §4.1); without a function its term cannot be computed yet."""
    nmd = due(cli, register, "Nasjonal kompetansetjeneste for nevromuskulære sykdommer")
    assert nmd["competence_term_end"]["due_on"] == "2030-01-01"  # not 2021 (2011 + 10)
    assert nmd["continuation_initiative"]["due_on"] == "2028-07-01"
    assert "term from 2020-01-01" in shown(cli, register,
                                           "Nasjonal kompetansetjeneste for amming")["term"]
    name = "Nasjonal kompetansetjeneste for sjeldne diagnoser"
    assert not {"competence_term_end", "continuation_initiative"} & set(due(cli, register, name))
    text = cli("service", "show", str(register[name]["id"])).stdout
    assert "term end: cannot be computed until the function is known" in text


def test_mergers_and_renames_keep_their_history(register, cli):
    """A merger links to both services it continues (audited); a rename keeps the earlier
    name with the date it changed."""
    merged = shown(cli, register, "Nasjonal kompetansetjeneste for sjeldne diagnoser")
    assert [p["name"] for p in merged["predecessors"]] == [
        "Senter for sjeldne diagnoser", "Senter for sjeldne funksjonshemninger"]
    old = shown(cli, register, "Senter for sjeldne diagnoser")
    assert [s["name"] for s in old["successors"]] == [merged["name"]]
    history = cli.json("service", "history", str(merged["id"]))["history"]
    assert [h["trigger"] for h in history] == ["register", "link_predecessors"]
    assert history[1]["changes"]["predecessors"] == [[], [p["id"] for p in merged["predecessors"]]]
    assert "register.csv, line 8" in history[1]["comment"]
    names = shown(cli, register, "Nasjonal kompetansetjeneste for nevromuskulære sykdommer")["names"]
    assert [(n["name"], n["valid_from"]) for n in names] == [
        ("Nasjonalt kompetansesenter for arvelige og medfødte nevromuskulære sykdommer",
         "2011-01-01"),
        ("Nasjonal kompetansetjeneste for nevromuskulære sykdommer", "2014-01-01")]


def test_an_unknown_host_goes_to_every_regions_agenda(register, cli):
    """Nobody knows which region hosts the service, so each region's coordinators see its
    deadlines (and none is lost)."""
    sid = register["Nasjonal behandlingstjeneste for retinoblastom"]["id"]
    agenda = cli.json("agenda", "--backlog")  # the evaluations were due long before the import

    def regions(service_id, kind):
        return [i["regions"] for i in agenda if i["service_id"] == service_id
                and i["kind"] == kind]

    assert regions(sid, "lifecycle.next_evaluation") == [["sor-ost", "vest", "midt", "nord"]]
    known = register["Nasjonal behandlingstjeneste for avansert trykkammerbehandling"]["id"]
    assert regions(known, "lifecycle.next_evaluation") == [["vest"]]


BAD = """\
name,kind,hf,function,approved_on,established_on,predecessor
Nasjonal tjeneste A,behandlingstjeneste,Sykehus som ikke finnes,,2011-13,2011
Nasjonal tjeneste B,national,Helse Bergen HF,,2012,2011-06
Nasjonal tjeneste C,national,Helse Bergen HF,,,2011,Nasjonal tjeneste D
Nasjonal tjeneste D,national,Helse Bergen HF,,,2011,Nasjonal tjeneste C
Nasjonal tjeneste E,competence,Helse Bergen HF,teaching,,2011,Nasjonal tjeneste X
"""


def test_every_error_of_every_row_is_listed_by_column_and_nothing_is_stored(
        initialised, cli, tmp_path):
    """A malformed file names each error by line and CSV column (not by command-line
    option), including a circle of predecessors, and stores nothing."""
    before = counts(initialised)
    out = cli("service", "import", write(tmp_path, BAD), expect=1, actor=ADMIN)
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error: ")]
    assert errors[:3] == [
        "Error: line 2, column kind: kind 'behandlingstjeneste' is not a kind of service; give "
        "one of national (nasjonal behandlingstjeneste); multiregional (flerregional "
        "behandlingstjeneste); competence (nasjonal kompetansetjeneste); centre (nasjonalt "
        "senter); network (nasjonalt kvalitets- og kompetansenettverk)",
        "Error: line 2, column hf: no institution 'Sykehus som ikke finnes'; did you mean "
        "Sykehuset Innlandet HF? (names, organisation numbers and aliases: `appointer "
        "institution list`)",
        "Error: line 2, column approved_on: '2011-13' is not a date (use YYYY-MM-DD, or YYYY-MM "
        "or YYYY where only that is known)"]
    assert ("Error: line 3, column established_on: established_on 2011-06 is before "
            "approved_on 2012; lifecycle dates run forward") in errors
    assert ("Error: line 5, column predecessor: 'Nasjonal tjeneste C' already continues "
            "'Nasjonal tjeneste D': predecessors cannot run in a circle") in errors
    assert [e for e in errors if e.startswith("Error: line 6")] == [
        "Error: line 6, column function: 'teaching' is not a function; give training (5-year "
        "term) or competence_building (10-year term), or leave it empty if unknown",
        "Error: line 6, column predecessor: predecessor 'Nasjonal tjeneste X' is neither in the "
        "file nor registered"]
    assert not any("--" in e for e in errors)
    assert counts(initialised) == before


def test_dates_in_the_same_year_are_not_out_of_order(initialised, cli, tmp_path):
    """Approved "2011" and established 2011-06-01 may both be right: only a date wholly
    before the one it follows is refused."""
    text = ("name,kind,hf,approved_on,established_on\n"
            "Nasjonal tjeneste A,national,Helse Bergen HF,2011,2011-06-01\n"
            "Nasjonal tjeneste B,national,Helse Bergen HF,2011-07,2011\n")
    cli("service", "import", write(tmp_path, text), actor=ADMIN)
    assert len(cli.json("service", "list")) == 2


def test_add_takes_partial_dates_an_unknown_host_labels_and_a_note(initialised, cli):
    """`service add` has the import's freedoms: kind by label, no --hf while unknown, a
    year-only date, a note, several predecessors."""
    base = ["service", "add", "--leader-name", "L", "--leader-email", "l@x.example"]
    cli(*base, "--name", "A", "--kind", "nasjonal kompetansetjeneste", "--hf",
        "Helse Bergen HF", "--function", "training", "--established", "2012", actor=ADMIN)
    cli(*base, "--name", "B", "--kind", "national", "--hf", "Helse Bergen HF", actor=ADMIN)
    out = cli(*base, "--name", "C", "--kind", "Nasjonalt senter", "--established", "2024-05",
              "--note", "from the 2024 annual report", "--predecessor", "A",
              "--predecessor", "B", actor=ADMIN)
    assert "incomplete: host unknown — complete it with `appointer service edit 3 --hf" \
        in out.stdout
    c = cli.json("service", "show", "3")
    assert (c["kind"], c["hosts"], c["note"], c["date_precision"]) == \
        ("centre", [], "from the 2024 annual report", {"established_on": "month"})
    assert [p["name"] for p in c["predecessors"]] == ["A", "B"]
    out = cli(*base, "--name", "D", "--kind", "behandling", expect=2, actor=ADMIN)
    assert "is not a kind of service" in out.output


def test_a_group_of_a_service_with_an_unknown_host_works_without_its_service_seat(
        register, cli):
    """Members can be proposed for the regions and users; the service seat waits for the
    host, and says how to give it."""
    sid = str(register["Nasjonal behandlingstjeneste for retinoblastom"]["id"])
    assert "(national, host unknown)" in cli("group", "show", sid).stdout
    cli("member", "propose", sid, "--seat", "user", "--name", "U", "--email", "u@x.example",
        actor="coord@nord.example")
    out = cli("member", "propose", sid, "--seat", "service", "--name", "S", "--email",
              "s@x.example", "--institution", "Oslo universitetssykehus HF",
              actor="coord@nord.example", expect=1)
    assert f"the host of service {sid} is unknown: complete it first (`appointer service " \
           f"edit {sid} --hf …`)" in out.output


def test_the_documented_example_register_imports_as_described(initialised, cli, tmp_path):
    """The worked example in docs/register.md cannot drift: it imports, with the gap it
    describes."""
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "register.md").read_text(encoding="utf-8")
    example = page.split("```csv\n", 1)[1].split("```", 1)[0]
    cli("service", "import", write(tmp_path, example), actor=ADMIN)
    gaps = {d["name"]: d["missing"] for d in cli.json("service", "list", "--incomplete")}
    assert gaps == {"Nasjonal behandlingstjeneste for retinoblastom": ["hf"],
                    "Nasjonal kompetansetjeneste for sjeldne diagnoser": ["function"]}
