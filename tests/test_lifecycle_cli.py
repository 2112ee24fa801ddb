"""`appointer service …` for the lifecycle: apply, advance, add as it stands, show every
computed date, list by deadline, record patient volume, and the lifecycle diagram."""

from __future__ import annotations

import json

import pytest
from conftest import ADMIN

COORD = {code: f"coord@{code}.example" for code in ("sor-ost", "vest", "midt", "nord")}
OUS = "Oslo universitetssykehus HF"


def add(cli, name, *extra, expect=0, kind="national", hf=OUS):
    return cli("service", "add", "--name", name, "--kind", kind, "--hf", hf,
               "--leader-name", "Leder", "--leader-email", "leder@ous.example", *extra,
               expect=expect, actor=ADMIN)


def service_count(cli) -> int:
    return len(cli.json("service", "list"))


def test_apply_then_advance_through_the_round_with_dates(initialised, cli):
    """A coordinator applies, submits and sends; `show --json` carries the round's dates."""
    data = cli.json("service", "apply", "--name", "Nasjonal behandlingstjeneste for X",
                    "--kind", "national", "--hf", OUS, "--requested-by", "Norsk X-forening",
                    actor=COORD["sor-ost"])
    sid = str(data["id"])
    assert (data["state"], data["requested_by"]) == ("draft", "Norsk X-forening")
    assert data["round"]["year"] == 2027 and data["round"]["internal_deadline"] == "2026-08-31"
    cli("service", "advance", sid, "submit", "--date", "2026-02-27", actor=COORD["sor-ost"])
    cli("service", "advance", sid, "prioritise", actor=COORD["nord"])
    out = cli("service", "advance", sid, "send", actor=COORD["vest"])
    assert "service 1: sent ← prioritised by send" in out.stdout
    assert "Warning: sent after 2026-01-15: the application belongs to round 2027" in out.stderr
    shown = cli.json("service", "show", sid)
    assert shown["dates"]["submitted_on"] == "2026-02-27"
    assert shown["dates"]["sent_on"] == "2026-03-02"
    assert [d["rule"] for d in shown["deadlines"]] == ["decision_feedback"]
    assert shown["deadlines"][0]["due_on"] == "2027-12-01"
    assert shown["allowed"] == ["approve", "reject"]
    assert [h["trigger"] for h in shown["history"]] == ["apply", "submit", "prioritise", "send"]


def test_advance_says_what_is_wrong_and_what_is_allowed(initialised, cli):
    """Unknown triggers, triggers from the wrong state, no actor, a bad date: clear errors."""
    sid = str(cli.json("service", "apply", "--name", "X", "--kind", "national", "--hf", OUS,
                       actor=COORD["sor-ost"])["id"])
    out = cli("service", "advance", sid, "aprove", actor=COORD["vest"], expect=1)
    assert "'aprove' is not a trigger of the lifecycle workflow" in out.output
    out = cli("service", "advance", sid, "approve", actor=COORD["vest"], expect=1)
    assert "Error: service 1 is draft: 'approve' is not allowed now; allowed: submit, withdraw" \
        in out.output
    out = cli("service", "advance", sid, "submit", expect=1)
    assert "who is acting? Pass --as EMAIL" in out.output
    out = cli("service", "advance", sid, "submit", "--date", "15.01.2026",
              actor=COORD["sor-ost"], expect=2)
    assert "not a date: '15.01.2026'" in out.output
    out = cli("service", "advance", sid, "submit", "--date", "2026-03-03",
              actor=COORD["sor-ost"], expect=1)
    assert "after today (2026-03-02)" in out.output
    assert cli.json("service", "show", sid)["state"] == "draft"


def test_add_registers_a_service_as_it_stands_with_the_dates_its_state_needs(initialised, cli):
    """--state with its dates; a date that does not fit, a missing one, or dates out of
    order are refused and nothing is stored; a running service without --established warns."""
    out = add(cli, "A", "--state", "approved", expect=1)
    assert "--approved: a service that is approved needs approved_on" in out.output
    out = add(cli, "A", "--established", "2020-01-06", "--phased-out", "2021-01-04", expect=1)
    assert "--phased-out: phased_out_on does not fit a service that is established" in out.output
    out = add(cli, "A", "--approved", "2020-01-06", "--established", "2019-01-07", expect=1)
    assert "--established: established_on 2019-01-07 is before approved_on 2020-01-06" \
        in out.output
    out = add(cli, "A", "--state", "sleeping", expect=1)
    assert "state must be one of draft, submitted" in out.output
    assert service_count(cli) == 0
    out = add(cli, "A")
    assert "Warning: a service that is established should have established_on" \
        in out.stderr
    approved = json.loads(add(cli, "B", "--state", "approved", "--approved", "2025-06-02",
                              "--json").stdout)
    shown = cli.json("service", "show", str(approved["id"]))
    assert shown["deadlines"][0]["rule"] == "establishment_due"
    assert shown["deadlines"][0]["due_on"] == "2026-06-02"
    assert shown["names"] == [{"name": "B", "name_en": None, "valid_from": "2025-06-02",
                               "approved": True}]
    network = json.loads(add(cli, "C", "--established", "2023-01-02", "--predecessor", "B",
                             "--json", kind="network").stdout)
    assert [p["name"] for p in cli.json("service", "show", str(network["id"]))["predecessors"]] \
        == ["B"]
    assert [s["name"] for s in cli.json("service", "show", "B")["successors"]] == ["C"]


def test_show_prints_every_computed_date_of_a_competence_service(initialised, cli):
    """Term end, the initiative 18 months before, evaluation, first report: all on show."""
    add(cli, "Nasjonal kompetansetjeneste for Z", "--kind", "competence", "--function",
        "training", "--established", "2022-01-03", kind="competence")
    out = cli("service", "show", "1").stdout
    assert "national competence service (training)" in out
    assert "annual reports from 2023 (the year after establishment)" in out
    # registered today, so a deadline already past is backlog (not reminded), and says so
    assert "2025-07-03  initiate phase-out or continuation (18 months before the term ends) " \
           "[8 months overdue; backlog, not reminded]" in out
    assert "2027-01-03  next evaluation (about every 5 years) [in 10 months]" in out
    assert "2027-01-03  term as competence service ends (training, 5 years)" in out
    assert "register" in out.split("History")[1]
    # since when: the register's date of establishment, not the day it was registered
    assert "state          established since 2022-01-03" in out
    assert "OVERDUE" not in out and " days]" not in out


def test_list_filters_by_state_kind_region_and_deadlines(initialised, cli):
    """The coordinator's overview: what is overdue, what falls due soon, where, of which kind."""
    add(cli, "Late", "--established", "2020-01-06")                      # evaluation 2025-01-06
    add(cli, "Soon", "--established", "2021-04-01")                      # evaluation 2026-04-01
    add(cli, "Later", "--established", "2025-06-02", hf="Helse Bergen HF")  # report 2027
    add(cli, "Approved", "--state", "approved", "--approved", "2025-03-03")  # due 2026-03-03
    names = lambda *args: [d["name"] for d in cli.json("service", "list", *args)]  # noqa: E731
    assert names("--overdue") == ["Late"]
    assert names("--due-within", "1") == ["Approved"]
    assert names("--due-within", "30") == ["Soon", "Approved"]
    assert names("--overdue", "--due-within", "30") == ["Late", "Soon", "Approved"]
    assert names("--region", "vest") == ["Later"]
    assert names("--region", "Helse Sør-Øst") == ["Late", "Soon", "Approved"]
    assert names("--state", "approved") == ["Approved"]
    assert names("--kind", "competence") == []
    listed = cli.json("service", "list", "--overdue")[0]["next_deadline"]
    assert (listed["rule"], listed["overdue"], listed["days_left"]) == ("next_evaluation", True, -420)
    assert "2025-01-06 next evaluation (overdue)" in cli("service", "list").stdout
    assert "--due-within counts days" in cli("service", "list", "--due-within", "-1",
                                             expect=1).output


@pytest.mark.parametrize("patients, flagged", [
    (19, "below 20 new patients a year: consider a supranational solution"),
    (20, None), (200, None),
    (201, "above 200 new patients a year: consider splitting the function"),
])
def test_patient_volume_outside_20_to_200_is_flagged(initialised, cli, patients, flagged):
    """The seeds' normal volume is 20–200 new patients or procedures a year (`003`)."""
    add(cli, "T", "--established", "2015-01-05")
    out = cli("service", "volume", "1", "--year", "2025", "--patients", str(patients),
              actor=COORD["vest"])
    assert (f"Warning: {flagged}" in out.stderr) if flagged else out.stderr == ""
    assert cli.json("service", "show", "1")["volumes"] == [
        {"year": 2025, "patients": patients, "flag": flagged and flagged + " (003)"}]


def test_volume_is_for_treatment_services_and_past_years(initialised, cli):
    """Competence services treat no patients; a year that has not begun has no volume;
    recording again replaces, audited."""
    add(cli, "K", "--kind", "competence", "--function", "training", "--established",
        "2022-01-03", kind="competence")
    add(cli, "T", "--established", "2015-01-05")
    assert "patient volume is recorded for treatment services" in cli(
        "service", "volume", "1", "--year", "2025", "--patients", "5", actor=COORD["vest"],
        expect=1).output
    assert "--year 2027 has not begun" in cli(
        "service", "volume", "2", "--year", "2027", "--patients", "5", actor=COORD["vest"],
        expect=1).output
    cli("service", "volume", "2", "--year", "2025", "--patients", "30", actor=COORD["vest"])
    out = cli.json("service", "volume", "2", "--year", "2025", "--patients", "40",
                   actor=COORD["vest"])
    assert (out["replaced"], out["state"]) == (30, "normal")
    history = cli.json("service", "show", "2")["history"]
    assert [h["comment"] for h in history if h["trigger"] == "record_volume"] == [
        "2025: 30 new patients", "2025: 40 new patients (was 30)"]


def test_the_lifecycle_diagram_is_drawn_from_the_file(initialised, cli):
    """`workflow show lifecycle` lists every state and trigger with who may fire it; the
    mermaid form has one arrow per source of every transition."""
    from appointer.lifecycle import load_workflow

    w = load_workflow(initialised)
    text = cli("workflow", "show", "lifecycle").stdout
    for t in w.triggers:
        assert f"  {t} " in text
    assert "phase_out_initiated    Phase-out" in text  # long names keep the columns
    assert "[reference group]" in text and "[final]" in text
    mermaid = cli("workflow", "show", "lifecycle", "--format", "mermaid").stdout.splitlines()
    arrows = [line for line in mermaid if "-->" in line and "[*]" not in line]
    assert len(arrows) == sum(len(t.source) for t in w.transitions)
    assert "    sent --> rejected: reject (coordinator)" in mermaid
    assert "    rejected --> [*]" in mermaid
    assert not any(line.strip().startswith("rejected -->") and "[*]" not in line
                   for line in mermaid)


@pytest.mark.parametrize("command", ["add", "apply", "advance", "list", "show", "volume",
                                     "import"])
def test_every_service_command_documents_itself_with_an_example(cli, command):
    """Each command's --help is its manual and shows how to call it."""
    out = cli("service", command, "--help").stdout
    assert "Example" in out
