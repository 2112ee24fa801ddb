"""The words people read: every message in both languages, for every kind of service and every
seat, says things in plain words of its own language (no internal codes, no doubled phrases,
no English in bokmål and no Norwegian in English), with the right article for each kind."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import dbsql
import pytest
from click.testing import CliRunner
from scenarios import every_transition

from appointer import settings as settings_mod
from appointer import terms
from appointer.cli import main
from appointer.web import texts

KINDS = ("national", "multiregional", "competence", "centre", "network")
SEATS = ("region:sor-ost", "region:vest", "region:midt", "region:nord", "user:1", "other:1")

# a command a coordinator may type (shown in «appointer …» quotes) keeps its codes
COMMAND = re.compile(r"«appointer [^»]*»|\"appointer [^\"]*\"")
CODES = re.compile(r"\bregion:|\buser:\d|\bother:\d|\bservice:\d|\b[a-zæøå]+_[a-zæøå_]+\b"
                   r"|\bOVERDUE\b|\bappointing_region\b")
DOUBLED = re.compile(r"\b(\w+(?:[ ,]+\w+){3,})[ ,]+\1\b", re.IGNORECASE)
ENGLISH = {"the", "and", "of", "with", "member", "members", "seat", "waiting", "overdue",
           "please", "case", "leader", "will", "appointed", "service", "due", "since"}
NORWEGIAN = {"og", "ikke", "av", "med", "som", "fra", "tjenesten", "medlem", "oppnevnt",
             "frist", "plassen", "helseregion", "brukerrepresentant", "deltaker", "deltakelsen",
             "hei", "vennlig", "hilsen", "referansegruppen", "leder", "sak", "klarere",
             "klarert", "sete"}
LINKS = re.compile(r"https?://\S+|\S+@\S+")
# proper names a message may quote in either language
NAMES = re.compile(r"Helse (?:Sør-Øst|Vest|Midt-Norge|Nord)(?: RHF)?|[A-ZÆØÅ][\w.-]* ?[\w .-]*"
                   r" (?:HF|RHF)\b|Kandidat [\w-]+|Leder [\w-]+|Medlem [\w-]+|Tjenesteleder|Testtjenesten \w+"
                   r"|«[^»]*»|\"[^\"]*\"|Helse- og omsorgsdepartementet|\S+@\S+|https?://\S+")


def problems(lang: str, text: str, names=()) -> list[str]:
    """What is wrong with one message's text in `lang` (`names`: proper names it may quote)."""
    text = LINKS.sub(" ", COMMAND.sub(" ", text))  # a link's token may hold anything
    for name in names:
        text = text.replace(name, " ")
    found = [f"code {m.group(0)!r}" for m in CODES.finditer(text)]
    found += [f"doubled {m.group(1)!r}" for m in DOUBLED.finditer(text)]
    words = set(re.findall(r"[a-zæøå]+", NAMES.sub(" ", text).lower()))
    foreign = words & (ENGLISH if lang == "nb" else NORWEGIAN)
    found += [f"foreign word {w!r}" for w in sorted(foreign)]
    return found


def run_all_seats(steps, kind):
    """One service of `kind` whose cases pass through every step of the appointment workflow,
    on every kind of seat."""
    sid = steps.service(name=f"Testtjenesten {kind}", kind=kind,
                        hosts=("Oslo universitetssykehus HF", "Helse Stavanger HF")
                        if kind == "multiregional" else ("Oslo universitetssykehus HF",))
    return every_transition(steps, sid, other=True,
                            service_seat="service:1" if kind == "multiregional" else "service")


@pytest.mark.parametrize("lang", ["nb", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_appointment_message_speaks_plainly_in_its_language(steps, kind, lang):
    """For every kind of service, every seat and every step, the nb and en messages carry no
    seat or state codes, no doubled phrases and no words of the other language."""
    steps.settings = settings_mod.replace(steps.settings, lang=lang)
    rows = run_all_seats(steps, kind)
    assert len({r.template for r in rows}) >= 7
    bad = {}
    for row in rows:
        for part in (row.subject, row.body_text):
            found = problems(lang, part)
            if found:
                bad.setdefault(row.template, set()).update(found)
    assert not bad, bad


@pytest.mark.parametrize("kind, article", [("national", "en nasjonal"), ("centre", "et nasjonalt"),
                                           ("network", "et nasjonalt")])
def test_each_kind_keeps_its_article(steps, kind, article):
    """A centre and a network are neuter: the invitation says "et nasjonalt senter", never
    "en nasjonalt"."""
    sid = steps.service(name="Testtjenesten x", kind=kind)
    steps.propose(sid, "region:vest")
    [row] = steps.outbox()
    assert f"{article} " in row.body_text and "en nasjonalt" not in row.body_text


def test_the_terms_name_every_seat_kind_and_state_in_both_languages():
    """Every seat, kind and appointment state has words in nb and en, and no word is a code."""
    from appointer import appointments
    from appointer.settings import Settings

    states = appointments.load_workflow(Settings()).states
    for lang in ("nb", "en"):
        for seat in SEATS + ("service", "service:2"):
            for fn in (terms.seat, terms.role, terms.represents):
                assert not problems(lang, fn(lang, seat)), (lang, seat, fn(lang, seat))
        for kind in KINDS:
            assert terms.term(lang, f"kind.{kind}.indefinite").endswith(terms.term(lang, f"kind.{kind}"))
        for state in states:
            assert not CODES.search(terms.state(lang, "appointment", state)), state


def test_the_pages_take_their_domain_words_from_the_terms():
    """The link pages say a kind of service and a seat in the terms file's words."""
    for lang in ("nb", "en"):
        for kind in KINDS:
            assert texts.text(lang, f"kind.{kind}") == terms.term(lang, f"kind.{kind}")
    assert "klarer" not in " ".join(texts.TEXTS["nb"].values())


def test_member_show_says_when_in_oslo_time(steps, cli):
    """`member show` gives the moment of the case's last step in Oslo local time, not an ISO
    UTC timestamp."""
    steps.propose(steps.service(), "region:vest")
    out = cli("member", "show", "1").stdout
    assert re.search(r"since\s+\d{4}-\d\d-\d\d \d\d:\d\d \(Oslo\)", out), out
    assert "+00:00" not in out


@pytest.mark.slow
@pytest.mark.backend_independent("the demo and its reminders run on the demo's SQLite file")
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_demo_and_its_reminders_speak_plainly(tmp_path, lang):
    """The demo's emails (invitations, consent requests, letters, group and lifecycle notices),
    reminders to a candidate, a leader and the services, and the weekly digests, with everyone
    reading `lang`: no codes, no doubled phrases, none of the other language."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPOINTER_")}
    env["APPOINTER_LANG"] = lang
    run = [sys.executable, "-m", "appointer"]
    subprocess.run(run + ["demo"], cwd=tmp_path, env=env, check=True, capture_output=True)
    db = tmp_path / "demo-out" / "appointer-demo.sqlite"

    def cli(*args):  # in-process, as the other tests run commands (no process start each)
        result = CliRunner().invoke(main, ["--db", str(db), *args], env={"APPOINTER_LANG": lang},
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    # two open cases on a group with vacant seats: one waits for its candidate, one for a leader
    def propose(region_coordinator):  # each region proposes for its own seat
        return ["--today", "2026-12-01", "--as", region_coordinator, "member", "propose", "2",
                "--share", "5 %"]

    cli(*propose("bjorn.vik@helse-vest.example"), "--seat", "region:vest", "--name", "Kari Vik",
        "--email", "kari@hb.example", "--institution", "Helse Bergen HF", "--leader-name",
        "Ola Vik", "--leader-email", "ola@hb.example")
    out = cli(*propose("dag.nilsen@helse-nord.example"), "--seat", "region:nord", "--name",
              "Per Nord", "--email", "per@unn.example", "--institution", "UNN", "--leader-name",
              "Liv Nord", "--leader-email", "liv@unn.example")
    case = re.search(r"case (\d+)", out).group(1)
    cli("--today", "2026-12-02", "--as", "dag.nilsen@helse-nord.example", "member", "advance",
        case, "accept", "--evidence", "by phone")
    cli("--today", "2027-01-04", "remind")  # the first run: the backlog, once, in the digests
    cli("--today", "2027-09-14", "remind")  # no meeting this year: the services are reminded
    with dbsql.connect(db) as con:
        rows = con.execute("SELECT template, lang, subject, body_text FROM outboxmessage").fetchall()
        names = sorted((n for (n,) in con.execute("SELECT name FROM service")), key=len,
                       reverse=True)  # the services' own (Norwegian) names
    assert {r[1] for r in rows} == {lang}
    assert {"lifecycle.notice", "reminder.digest", "appointment.member.letter", "reminder.service",
            "reminder.case.candidate", "reminder.case.leader"} <= {r[0] for r in rows}
    bad = {}
    for template, _, subject, body in rows:
        for part in (subject, body):
            for found in problems(lang, part, names):
                bad.setdefault(template, set()).add(found)
    assert not bad, bad
    # a digest is dated the day it is written (Tuesday 14 September: Monday is digest day)
    dated = {"nb": "per 14. september 2027", "en": "as of 14 September 2027"}[lang]
    assert any(dated in body for template, _, _, body in rows if template == "reminder.digest")


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_the_annual_report_messages_speak_plainly(initialised, steps, cli, tmp_path, monkeypatch,
                                                  lang):
    """A whole annual report cycle (opening, reminders to authors, approval, submission,
    feedback) for a competence service, everyone reading `lang`: no message carries codes,
    doubled phrases or words of the other language."""
    import datetime as dt

    from report_support import OPEN_DAY, YEAR, full_group, mails, register, report_of

    monkeypatch.setenv("APPOINTER_LANG", lang)
    steps.settings = settings_mod.replace(initialised, lang=lang)
    sid = register(steps.settings, "Testtjenesten kompetanse", kind="competence",
                   function="training", established_on=dt.date(2022, 1, 1))
    full_group(steps, sid)
    coord = "coord@sor-ost.example"
    cli.today = OPEN_DAY.isoformat()
    cli("report", "open", str(YEAR), "--service", str(sid), actor=coord)
    cli.today = "2027-02-20"
    cli("remind")  # the parts' deadlines draw near: their authors are reminded
    cli.today = "2027-02-21"
    rid = str(report_of(initialised, sid).id)
    text = tmp_path / "part.md"
    text.write_text({"nb": "Tjenesten fungerer godt.", "en": "The service works well."}[lang],
                    encoding="utf-8")  # what people type is quoted in their own language
    for part in ("service", "region:sor-ost", "region:vest", "region:midt", "region:nord",
                 "group"):
        cli("report", "part", rid, part, "--file", str(text), "--done", actor=coord)
    cli("report", "approve", rid, "--date", "2027-02-21", actor=coord)
    cli("report", "submit", rid, actor=coord)
    cli("report", "assess", rid, "--regional", "--file", str(text), actor=coord)
    cli("report", "feedback", rid, "--file", str(text), actor=coord)
    rows = [m for m in mails(initialised, "") if m.template.startswith(("annual_report",
                                                                       "reminder"))]
    assert {m.lang for m in rows} == {lang}
    assert {m.template for m in rows} >= {"annual_report.service.information",
                                          "annual_report.service.feedback"}
    bad = {}
    for m in rows:
        for part in (m.subject, m.body_text):
            for found in problems(m.lang, part, ("Leder Testtjenesten kompetanse",
                                                    "Testtjenesten kompetanse")):
                bad.setdefault((m.template, m.lang), set()).add(found)
    assert not bad, bad


def test_agenda_wraps_long_names_and_speaks_the_chosen_language(steps, cli):
    """`agenda` wraps a long service name onto more lines instead of cutting it, shows seats
    and regions in words, and follows --lang."""
    name = ("Nasjonal behandlingstjeneste for avansert trykkammerbehandling og "
            "dykkermedisinske skader hos barn")
    steps.service(name=name)
    out = cli("agenda", "--within", "3650d").stdout
    assert "region:" not in out and "user:" not in out and "sor-ost" not in out
    assert "Ledig: plassen for Helse Vest" in out and "brukerrepresentant 1" in out
    lines = out.splitlines()
    assert all(word in out for word in name.split())
    assert max(len(line) for line in lines) < 200
    english = cli("agenda", "--within", "3650d", "--lang", "en").stdout
    assert "Vacant: the seat for Helse Vest" in english and "Ledig" not in english
