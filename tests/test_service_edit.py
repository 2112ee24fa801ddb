"""Correcting a service (`service edit`), reading what happened to it (`service history`),
and the decision after a competence service's term (`service advance ID continue`)."""

from __future__ import annotations

import dbsql
from conftest import ADMIN

COORD = {code: f"coord@{code}.example" for code in ("sor-ost", "vest", "midt", "nord")}
OUS = "Oslo universitetssykehus HF"
BASE = ["service", "add", "--leader-name", "Leder", "--leader-email", "leder@ous.example"]


def rows(settings, table: str) -> int:
    with dbsql.connect(settings.db) as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def outbox(settings) -> list[tuple[str, str]]:
    with dbsql.connect(settings.db) as con:
        return con.execute("SELECT subject, body_text FROM outboxmessage ORDER BY id").fetchall()


def test_edit_completes_an_unknown_host_and_function_with_one_audit_row(initialised, cli):
    """A service registered without its host and function is completed: it is no longer
    incomplete, its term is computed, and its history keeps old → new."""
    cli(*BASE, "--name", "Nasjonal kompetansetjeneste for amming", "--kind", "competence",
        "--established", "2011", actor=ADMIN)
    assert cli.json("service", "show", "1")["missing"] == ["hf", "function"]
    out = cli("service", "edit", "1", "--hf", OUS, "--function", "training",
              actor=COORD["vest"])
    assert "service 1: corrected function: (none) → training; hf: (none) → " \
        "Oslo universitetssykehus HF" in out.stdout
    shown = cli.json("service", "show", "1")
    assert shown["missing"] == [] and shown["hosts"][0]["institution"] == OUS
    assert {d["rule"]: d["due_on"] for d in shown["deadlines"]}["competence_term_end"] \
        == "2025-01-01"
    assert cli.json("service", "list", "--incomplete") == []
    history = cli.json("service", "history", "1")
    assert (history["id"], history["state"]) == (1, "established")
    edit = history["history"][-1]
    assert (edit["trigger"], edit["actor"], edit["changes"]) == (
        "edit", COORD["vest"], {"function": [None, "training"], "hf": [[], [OUS]]})
    text = cli("service", "history", "1").stdout
    assert "register" in text and "hf: (none) → Oslo universitetssykehus HF" in text
    assert outbox(initialised) == []  # a correction mails nobody


def test_edit_corrects_names_dates_and_leader_and_rechecks_the_rules(initialised, cli):
    """Spelling, a partial date, the leader's address: corrected; an edit that breaks a rule
    (hosts of a multiregional service, dates out of order) is refused and stores nothing."""
    cli(*BASE, "--name", "Flerregional behandlingstjeneste for allogen stamcelletransplantasjn",
        "--kind", "multiregional", "--hf", OUS, "--hf", "Helse Bergen HF",
        "--approved", "2010-06", "--established", "2011-01-01", actor=ADMIN)
    before = (rows(initialised, "auditevent"), cli.json("service", "show", "1"))
    out = cli("service", "edit", "1", "--hf", OUS, "--hf", "Akershus universitetssykehus HF",
              actor=COORD["sor-ost"], expect=1)
    assert "Error: --hf: a multiregional treatment service must be in two different regions" \
        in out.output
    out = cli("service", "edit", "1", "--established", "2009", "--leader-email", "ny@ous.example",
              actor=COORD["sor-ost"], expect=1)
    assert "Error: --established: established_on 2009 is before approved_on 2010-06" in out.output
    out = cli("service", "edit", "1", "--name", "  ", actor=COORD["sor-ost"], expect=1)
    assert "a service needs a name" in out.output
    assert (rows(initialised, "auditevent"), cli.json("service", "show", "1")) == before

    fixed = "Flerregional behandlingstjeneste for allogen stamcelletransplantasjon"
    data = cli.json("service", "edit", "1", "--name", fixed, "--established", "2011",
                    "--leader-email", "Per.Hansen@ous-hf.no", actor=COORD["sor-ost"])
    assert data["changes"] == {
        "name": ["Flerregional behandlingstjeneste for allogen stamcelletransplantasjn", fixed],
        "leader_email": ["leder@ous.example", "per.hansen@ous-hf.no"],
        "established_on": ["2011-01-01", "2011"]}
    assert (data["name"], data["date_precision"]) == (fixed, {"approved_on": "month",
                                                             "established_on": "year"})
    assert [n["name"] for n in data["names"]] == [fixed]  # a correction, not a rename
    out = cli("service", "edit", "1", "--name", fixed, actor=COORD["sor-ost"])
    assert "nothing to correct" in out.stdout
    assert [h["trigger"] for h in cli.json("service", "history", "1")["history"]] == [
        "register", "edit"]
    out = cli("service", "edit", "1", "--name", "X", expect=1)
    assert "who is acting?" in out.output


def test_continue_starts_a_new_term_and_tells_the_rhfs(initialised, cli):
    """After a term, the RHFs' decision on a new term is recorded by a coordinator with its
    date; the term then runs from the decision, and the four RHFs and the leader are told."""
    cli(*BASE, "--name", "Nasjonal kompetansetjeneste for amming", "--kind", "competence",
        "--hf", OUS, "--function", "training", "--established", "2011-01-01", actor=ADMIN)
    term = {d["rule"]: d for d in cli.json("service", "show", "1")["deadlines"]}
    assert term["competence_term_end"]["due_on"] == "2025-01-01"
    out = cli("service", "advance", "1", "continue", "--date", "2024-11-04",
              actor=COORD["vest"], expect=1)
    assert "continue needs --outcome: new_term" in out.output
    out = cli("service", "advance", "1", "continue", "--date", "2024-11-04", "--outcome",
              "discontinue", actor=COORD["vest"], expect=1)
    assert "to discontinue the service: initiate_phase_out" in out.output
    data = cli.json("service", "advance", "1", "continue", "--date", "2024-11-04",
                    "--outcome", "new_term", actor=COORD["vest"])
    assert (data["state"], data["dates"]["continued_on"], data["continuation"]) == \
        ("established", "2024-11-04", "new_term")
    term = {d["rule"]: d["due_on"] for d in data["deadlines"]}
    assert term["competence_term_end"] == "2029-11-04"
    assert term["continuation_initiative"] == "2028-05-04"
    subject, body = outbox(initialised)[0]
    # the subject names the kind of service; a competence service's term is its "virketid"
    assert subject == "Nasjonal kompetansetjeneste: Nasjonal kompetansetjeneste for amming – " \
                      "videreført etter virketiden"
    assert "får ny virketid som nasjonal kompetansetjeneste" in body
    assert "Den nye virketiden løper til 4. november 2029" in body
    assert len(outbox(initialised)) == 5  # the four RHFs and the leader
    history = cli.json("service", "history", "1")["history"]
    assert (history[-1]["trigger"], history[-1]["actor"]) == ("continue", COORD["vest"])


def test_continuing_as_a_network_ends_the_term_rules(initialised, cli):
    """A competence service that goes on as a network is no longer time-limited; only
    competence services have a term to continue."""
    cli(*BASE, "--name", "K", "--kind", "competence", "--hf", OUS, "--function", "training",
        "--established", "2021-01-01", actor=ADMIN)
    cli(*BASE, "--name", "N", "--kind", "national", "--hf", "Helse Bergen HF", actor=ADMIN)
    out = cli("service", "advance", "2", "continue", "--outcome", "new_term",
              actor=COORD["vest"], expect=1)
    assert "continue records the decision after a competence service's term" in out.output
    data = cli.json("service", "advance", "1", "continue", "--date", "2025-12-01", "--outcome",
                    "network", actor=COORD["nord"])
    assert not {"competence_term_end", "continuation_initiative"} & {
        d["rule"] for d in data["deadlines"]}
    assert "term rules no longer apply" in data["term"]
    out = cli("service", "advance", "1", "continue", "--outcome", "new_term",
              actor=COORD["nord"], expect=1)
    assert "already continues as network" in out.output


def test_a_continued_service_registers_with_its_decision(initialised, cli, tmp_path):
    """The decision after a term is part of a register: continued_on with continuation."""
    path = tmp_path / "r.csv"
    path.write_text("name,kind,hf,function,established_on,continued_on,continuation\n"
                    f"K,competence,{OUS},training,2012,2024-06-03,new_term\n"
                    f"L,competence,{OUS},training,2012,2024-06-03,\n", encoding="utf-8")
    out = cli("service", "import", str(path), expect=1, actor=ADMIN)
    assert "Error: line 3, column continuation: continued_on and continuation go together" \
        in out.stderr
    path.write_text(path.read_text().splitlines()[0] + "\n"
                    + path.read_text().splitlines()[1] + "\n", encoding="utf-8")
    cli("service", "import", str(path), actor=ADMIN)
    due = {d["rule"]: d["due_on"] for d in cli.json("service", "show", "K")["deadlines"]}
    assert due["competence_term_end"] == "2029-06-03"


def test_steps_of_a_service_with_an_unknown_host_are_open_to_any_coordinator(initialised, cli):
    """While nobody knows the host region, a step reserved for its coordinators may be taken
    by any; the notice gives a deadline from a year-only date as approximate."""
    cli(*BASE, "--name", "K", "--kind", "competence", "--function", "training",
        "--established", "2024", actor=ADMIN)
    cli("service", "advance", "1", "request_change", "--comment", "new address",
        actor=COORD["midt"])
    body = outbox(initialised)[0][1]
    assert "om lag 2029: virketiden som nasjonal kompetansetjeneste utløper" in body
    assert "15. mars 2026: første årsrapport" in body  # for 2025: the year is known
    cli(*BASE, "--name", "N", "--kind", "national", "--hf", "Helse Bergen HF", "--state",
        "approved", "--approved", "2025-06-02", actor=ADMIN)
    out = cli("service", "advance", "2", "establish", actor=COORD["midt"], expect=1)
    assert "a coordinator of the region hosting the service (vest)" in out.output


def test_a_host_moved_by_a_correction_warns_what_the_group_now_breaks(initialised, cli,
                                                                      tmp_path):
    """Correcting the host to another institution moves no member, but says what the group's
    members now break: the member for the host's own region works at the new host, the
    service seat is held from the old location and appointed by the old host's region, and
    the group leader comes from a region where the service now is."""
    cli(*BASE, "--name", "Nasjonal behandlingstjeneste X", "--kind", "national", "--hf", OUS,
        actor=ADMIN)
    members = tmp_path / "members.csv"
    members.write_text(
        "service,seat,name,email,institution,appointed_on,group_leader\n"
        "1,region:vest,Vera Vik,vera@example.no,Helse Bergen HF,2020-01-06,yes\n"
        f"1,service,Sara Sund,sara@example.no,{OUS},2020-01-06,no\n", encoding="utf-8")
    cli("member", "import", str(members), actor=ADMIN)
    before = [(m["id"], m["appointing_region"], m["state"])
              for m in cli.json("member", "list", "--service", "1")]
    out = cli("service", "edit", "1", "--hf", "Helse Bergen HF", actor=COORD["sor-ost"])
    assert "hf: Oslo universitetssykehus HF → Helse Bergen HF" in out.stdout
    warnings = [ln for ln in out.stderr.splitlines() if ln.startswith("Warning: service 1: ")]
    text = "\n".join(warnings)
    assert "case 1 (region:vest, appointed): the member for the service's own region (Helse " \
        "Vest RHF) must come from another institution than the host, Helse Bergen HF" in text
    assert "case 2 (service, appointed) is appointed by Helse Sør-Øst RHF; the seat now " \
        "belongs to Helse Vest RHF" in text
    assert "case 2 (service, appointed): seat service represents the service at Helse Bergen " \
        "HF; Oslo universitetssykehus HF is not that location" in text
    assert "the group leader belongs to a region where the service is located" in text
    assert len(warnings) == 4, warnings
    assert [(m["id"], m["appointing_region"], m["state"])
            for m in cli.json("member", "list", "--service", "1")] == before
    data = cli.json("service", "edit", "1", "--hf", OUS, actor=COORD["sor-ost"])
    assert data["warnings"] == []  # back where they were appointed: nothing to say
