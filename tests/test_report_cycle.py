"""The annual report cycle from the command line: opening a year, parts, approval, one
named submitter, status and export (issue 13)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from report_support import (
    BERGEN,
    OPEN_DAY,
    REGION_EMAIL,
    YEAR,
    full_group,
    mails,
    parts,
    register,
    report_of,
)
from sqlmodel import select

from appointer import db
from appointer.clock import Clock
from appointer.models import AuditEvent, OutboxMessage, ReportCase, ReportPartVersion

COORD = "coord@sor-ost.example"


@pytest.fixture
def register_of_kinds(initialised, steps):
    """National (full group), multiregional, competence, a centre, one phased out before the
    year, one phased out during it, one established during the year."""
    ids = {
        "national": register(initialised, "Tjeneste Nasjonal", established_on=dt.date(2015, 1, 1)),
        "multi": register(initialised, "Tjeneste Flerregional", kind="multiregional",
                          hosts=("Oslo universitetssykehus HF", BERGEN),
                          established_on=dt.date(2018, 3, 1)),
        "competence": register(initialised, "Tjeneste Kompetanse", kind="competence",
                               function="training", established_on=dt.date(2022, 1, 1)),
        "centre": register(initialised, "Senter Nasjonalt", kind="centre",
                           established_on=dt.date(2020, 1, 1)),
        "gone": register(initialised, "Tjeneste Avviklet", state="phased_out",
                         established_on=dt.date(2010, 1, 1), phased_out_on=dt.date(2025, 6, 30),
                         reorganisation_outcome="discontinue"),
        "going": register(initialised, "Tjeneste Avvikles", state="phased_out",
                          established_on=dt.date(2010, 1, 1), phased_out_on=dt.date(2026, 10, 1),
                          reorganisation_outcome="discontinue"),
        "new": register(initialised, "Tjeneste Ny", established_on=dt.date(2026, 5, 1)),
    }
    ids["members"] = full_group(steps, ids["national"])
    return ids


@pytest.fixture
def rcli(cli):
    cli.today = OPEN_DAY.isoformat()
    return cli


def test_open_creates_exactly_the_owed_reports_once(initialised, register_of_kinds, rcli):
    """A year opens one report per service that owes one (one joint report for the
    multiregional service; none for a centre, a service phased out before the year or one
    established during it), and a second run opens nothing and mails nobody again."""
    ids = register_of_kinds
    out = rcli.json("report", "open", str(YEAR), actor=COORD)
    opened = {r["service_id"] for r in out["opened"]}
    assert opened == {ids["national"], ids["multi"], ids["competence"], ids["going"]}
    reasons = {r["service_id"]: r["reason"] for r in out["not_owed"]}
    assert "phased out in 2025" in reasons[ids["gone"]]
    assert "reports from 2027" in reasons[ids["new"]]
    assert ids["centre"] in reasons
    first = mails(initialised)
    again = rcli.json("report", "open", str(YEAR), actor=COORD)
    assert again["opened"] == [] and len(again["existing"]) == 4
    assert len(mails(initialised)) == len(first)
    with db.transaction(initialised, Clock(OPEN_DAY)) as tx:
        assert len(tx.session.exec(select(ReportCase)).all()) == 4


def test_information_mailing_reaches_each_person_once_with_their_part(
        initialised, register_of_kinds, rcli):
    """The service leader, the group leader and each regional member get one message each,
    about their own part, its deadline and (for the group) the mandate's wording."""
    ids = register_of_kinds
    rcli("report", "open", str(YEAR), "--service", str(ids["national"]), actor=COORD)
    sent = mails(initialised)
    to = [a for m in sent for a in m.to_addrs]
    assert len(to) == len(set(to)), to  # once per person (the group leader is also vest's member)
    assert set(to) == {"leder-nasjonal@hf.example", *REGION_EMAIL.values()}
    by = {m.to_addrs[0]: m for m in sent}
    service = by["leder-nasjonal@hf.example"]
    assert service.template == "annual_report.service.information"
    assert "10. februar 2027" in service.body_text and "15. mars 2027" in service.body_text
    lead = by[REGION_EMAIL["vest"]]
    assert lead.template == "annual_report.group_leader.information"
    assert "referansegruppens del" in lead.body_text and "delen for Helse Vest" in lead.body_text
    assert "Fra mandatet" in lead.body_text and "1. mars 2027" in lead.body_text
    member = by[REGION_EMAIL["nord"]]
    assert member.template == "annual_report.member.information"
    assert "delen for Helse Nord" in member.body_text and "/r/" in member.body_text


def test_a_year_the_service_owes_none_is_refused(initialised, register_of_kinds, rcli):
    """Opening a report for a service that owes none for the year is refused, nothing stored."""
    out = rcli("report", "open", str(YEAR), "--service", str(register_of_kinds["new"]),
               actor=COORD, expect=1).output
    assert out.startswith("Error:") and "owes no report for 2026" in out
    assert len(out.strip().splitlines()) == 1
    assert mails(initialised) == []


def test_a_year_outside_the_reports_window_is_refused_by_open_and_status(initialised,
                                                                         register_of_kinds, rcli):
    """`report open` and `report status` take the same years (2000 up to this one): a typing
    error (0, next year) is an error naming the window, not an empty list."""
    for command in ("open", "status"):
        for year in ("0", "1999", str(OPEN_DAY.year + 1)):
            out = rcli("report", command, year, actor=COORD, expect=1).output
            assert out.startswith("Error:") and f"report year {year}" in out, (command, out)
            assert f"2000 up to this one ({OPEN_DAY.year})" in out
    assert rcli.json("report", "status", str(YEAR - 1), actor=COORD)["reports"] == []
    assert "(no reports)" in rcli("report", "status", str(YEAR - 1), actor=COORD).output
    assert mails(initialised) == []


def _write(tmp_path, text, name="part.md"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_submit_needs_approval_then_only_once(initialised, register_of_kinds, rcli, tmp_path):
    """Submit is refused before the group approved; after, the report is submitted (with the
    missing regional part confirmed and its reason kept); a second submit is refused."""
    ids = register_of_kinds
    rcli("report", "open", str(YEAR), "--service", str(ids["national"]), actor=COORD)
    rid = report_of(initialised, ids["national"]).id
    out = rcli("report", "submit", str(rid), actor=COORD, expect=1).output
    assert out.startswith("Error:") and "not approved" in out
    rcli("report", "part", str(rid), "service", "--file", _write(tmp_path, "Tjenesten."),
         "--done", actor=COORD)
    for code in ("sor-ost", "vest", "midt"):
        rcli("report", "part", str(rid), f"region:{code}", "--file",
             _write(tmp_path, f"I {code} fungerer tjenesten."), "--done", actor=COORD)
    done = rcli.json("report", "part", str(rid), "group", "--file",
                     _write(tmp_path, "Gruppen mener."), "--done", actor=COORD)
    assert done["report_state"] == "approval"
    assert any(m.template == "annual_report.member.approval_request" for m in mails(initialised))
    out = rcli("report", "submit", str(rid), actor=COORD, expect=1).output
    assert "not approved" in out
    rcli("report", "approve", str(rid), "--date", "2027-01-11", "--note", "møte", actor=COORD)
    out = rcli("report", "submit", str(rid), actor=COORD, expect=1).output
    assert "region:nord" in out and "Medlem nord" in out
    before = _count(initialised, AuditEvent)
    sub = rcli.json("report", "submit", str(rid), "--without-part", "region:nord", "--reason",
                    "medlemmet er sykmeldt", actor=COORD)
    assert sub["state"] == "submitted"
    assert report_of(initialised, ids["national"]).missing_parts == {
        "region:nord": "medlemmet er sykmeldt"}
    assert _count(initialised, AuditEvent) == before + 1
    again = rcli("report", "submit", str(rid), actor=COORD, expect=1).output
    assert again.startswith("Error:") and "submitted once" in again
    assert _count(initialised, AuditEvent) == before + 1


def test_an_empty_part_is_refused_and_nothing_stored(initialised, register_of_kinds, rcli,
                                                     tmp_path):
    """A part saved empty is refused with one Error line; no version, no mail, no audit."""
    rcli("report", "open", str(YEAR), "--service", str(register_of_kinds["national"]),
         actor=COORD)
    rid = report_of(initialised, register_of_kinds["national"]).id
    counts = (_count(initialised, ReportPartVersion), _count(initialised, AuditEvent),
              _count(initialised, OutboxMessage))
    out = rcli("report", "part", str(rid), "service", "--file", _write(tmp_path, "  \n"),
               actor=COORD, expect=1).output
    assert out.startswith("Error:") and "empty" in out
    assert (_count(initialised, ReportPartVersion), _count(initialised, AuditEvent),
            _count(initialised, OutboxMessage)) == counts


def test_status_lists_missing_regional_parts_by_region_and_person(
        initialised, register_of_kinds, rcli, tmp_path):
    """`report status --json` gives every part with author and state, and one line per
    missing regional part naming the region and the member (or that none is appointed)."""
    ids = register_of_kinds
    rcli("report", "open", str(YEAR), actor=COORD)
    rid = report_of(initialised, ids["national"]).id
    rcli("report", "part", str(rid), "region:vest", "--file", _write(tmp_path, "Vest."),
         "--done", actor=COORD)
    data = rcli.json("report", "status", str(YEAR))
    national = next(r for r in data["reports"] if r["id"] == rid)
    assert [p["part"] for p in national["parts"]] == [
        "service", "region:sor-ost", "region:vest", "region:midt", "region:nord", "group"]
    assert national["parts"][2]["state"] == "done"
    missing = {(m["region"], m["name"]) for m in national["missing_regional_parts"]}
    assert missing == {("sor-ost", "Medlem sor-ost"), ("midt", "Medlem midt"),
                       ("nord", "Medlem nord")}
    assert national["next_deadline"] == {"what": "service part", "on": "2027-02-10", "days": 30}
    multi = next(r for r in data["reports"] if r["service_id"] == ids["multi"])
    assert {m["note"] for m in multi["missing_regional_parts"]} == {"no member appointed"}
    text = rcli("report", "status", str(YEAR), "--region", "vest").output
    assert f"report {rid}:" not in text  # hosted in sor-ost, and its vest part is done
    text = rcli("report", "status", str(YEAR), "--region", "midt").output
    assert f"report {rid}:" in text and "missing: Helse Midt-Norge RHF — Medlem midt" in text


def test_export_contains_every_part_in_order(initialised, register_of_kinds, rcli, tmp_path):
    """The exported report holds the service's part, the regional parts in region order, the
    group's part, the approval and the submission, in that order; the HTML is a page."""
    rcli("report", "open", str(YEAR), "--service", str(register_of_kinds["national"]),
         actor=COORD)
    rid = report_of(initialised, register_of_kinds["national"]).id
    texts = {"service": "TJENESTE-TEKST", "region:sor-ost": "SOROST-TEKST",
             "region:vest": "VEST-TEKST", "region:midt": "MIDT-TEKST",
             "region:nord": "NORD-TEKST", "group": "GRUPPE-TEKST"}
    for part, text in texts.items():
        rcli("report", "part", str(rid), part, "--file", _write(tmp_path, text), "--done",
             actor=COORD)
    rcli("report", "approve", str(rid), "--date", "2027-01-11", actor=COORD)
    rcli("report", "submit", str(rid), actor=COORD)
    md = rcli("report", "export", str(rid)).output
    order = [md.index(t) for t in texts.values()]
    assert order == sorted(order)
    assert md.index("GRUPPE-TEKST") < md.index("## Godkjenning") < md.index("## Innsending")
    assert "Sendt inn 2027-01-11" in md
    html = rcli("report", "export", str(rid), "--format", "html").output
    assert html.startswith("<!DOCTYPE html>") and "@media print" in html
    assert html.index("SOROST-TEKST") < html.index("NORD-TEKST") < html.index("GRUPPE-TEKST")


def test_every_save_is_a_version_and_the_json_has_id_and_state(initialised, register_of_kinds,
                                                                rcli, tmp_path):
    """Saving a part twice keeps both versions; the command's JSON has id and state."""
    rcli("report", "open", str(YEAR), "--service", str(register_of_kinds["national"]),
         actor=COORD)
    rid = report_of(initialised, register_of_kinds["national"]).id
    one = rcli.json("report", "part", str(rid), "service", "--file", _write(tmp_path, "En."),
                    actor=COORD)
    two = rcli.json("report", "part", str(rid), "service", "--file", _write(tmp_path, "To."),
                    actor=COORD)
    assert (one["version"], two["version"]) == (1, 2) and two["state"] == "draft"
    assert "id" in two
    assert _count(initialised, ReportPartVersion) == 2
    assert parts(initialised, rid)["service"].state == "draft"
    json.dumps(two)


def _count(settings, model) -> int:
    from sqlmodel import func, select

    with db.transaction(settings, Clock(OPEN_DAY)) as tx:
        return tx.session.exec(select(func.count()).select_from(model)).one()


def test_a_group_silent_two_years_running_is_flagged(initialised, steps, rcli, tmp_path):
    """A service whose group delivered no part of the report, and held no meeting, in both of
    the last two closed years is flagged in `report status` and on the agenda; a group that
    delivered one year is not, nor a service the cycle never ran for."""
    silent = register(initialised, "Tjeneste Taus", established_on=dt.date(2015, 1, 1))
    active = register(initialised, "Tjeneste Aktiv", established_on=dt.date(2015, 1, 1))
    full_group(steps, active)
    for year in (2024, 2025, 2026):
        rcli("report", "open", str(year), actor=COORD)
    register(initialised, "Tjeneste Utenfor", established_on=dt.date(2015, 1, 1))  # no cycle run
    rid = report_of(initialised, active, 2025).id
    rcli("report", "part", str(rid), "group", "--delivered-elsewhere", actor=COORD)
    rcli("group", "meeting", str(active), "--date", "2024-05-02", actor=COORD)
    data = rcli.json("report", "status", str(YEAR))
    flags = {r["service_id"]: r["flags"] for r in data["reports"]}
    assert flags == {silent: ["no_group_report", "no_meeting"], active: []}
    assert "flagged: the reference group delivered no part of the annual report two years" \
        in rcli("report", "status", str(YEAR)).output
    items = rcli.json("agenda", "--region", "sor-ost")
    flagged = [i["service_id"] for i in items if i["kind"] == "annual_report.silent_group"]
    assert flagged == [silent]


def test_after_submission_the_host_region_assesses_and_the_feedback_is_emailed(
        initialised, register_of_kinds, rcli, tmp_path):
    """Only the host region's coordinators assess and send feedback; the feedback goes to the
    service by email, and its follow-up point opens next year's report."""
    sid = register_of_kinds["national"]
    rcli("report", "open", str(YEAR), "--service", str(sid), actor=COORD)
    rid = report_of(initialised, sid).id
    for part in ("service", "region:sor-ost", "region:vest", "region:midt", "region:nord",
                 "group"):
        rcli("report", "part", str(rid), part, "--file", _write(tmp_path, f"{part}."), "--done",
             actor=COORD)
    rcli("report", "approve", str(rid), "--date", "2027-01-11", actor=COORD)
    rcli("report", "submit", str(rid), actor=COORD)
    note = _write(tmp_path, "God rapport. Ventetiden bør ned.", "feedback.md")
    out = rcli("report", "assess", str(rid), "--regional", "--file", note,
               actor="coord@vest.example", expect=1).output
    assert out.startswith("Error:") and "sor-ost" in out
    rcli("report", "assess", str(rid), "--regional", "--file", note, actor=COORD)
    done = rcli.json("report", "feedback", str(rid), "--file", note, "--follow-up",
                     "Ventetid", actor=COORD)
    assert done["state"] == "closed" and done["messages"] >= 1
    sent = [m for m in mails(initialised) if m.template == "annual_report.service.feedback"]
    assert any("leder-nasjonal@hf.example" in m.to_addrs for m in sent)
    assert "Ventetiden bør ned" in sent[0].body_text and "Ventetid" in sent[0].body_text
    report = report_of(initialised, sid)
    assert report.feedback_on == OPEN_DAY and report.follow_up == "Ventetid"


def test_a_member_appointed_after_the_year_opened_gets_their_part_once(initialised, steps,
                                                                      rcli):
    """A seat vacant when the year opened: once the member is appointed, the next `report
    open` makes them the part's author and sends them the information mailing, once."""
    sid = register(initialised, "Tjeneste Nasjonal", established_on=dt.date(2015, 1, 1))
    full_group(steps, sid, regions=("sor-ost", "vest", "midt"))
    rcli("report", "open", str(YEAR), actor=COORD)
    rid = report_of(initialised, sid).id
    assert parts(initialised, rid)["region:nord"].author_email is None
    case = steps.propose(sid, "region:nord", email=REGION_EMAIL["nord"], name="Medlem nord")
    steps.appoint(case, "nord")
    out = rcli.json("report", "open", str(YEAR), actor=COORD)
    assert out["existing"][0]["authors_added"] == ["region:nord"]
    assert parts(initialised, rid)["region:nord"].author_email == REGION_EMAIL["nord"]
    rcli("report", "open", str(YEAR), actor=COORD)
    to_nord = [m for m in mails(initialised) if REGION_EMAIL["nord"] in m.to_addrs]
    assert [m.template for m in to_nord] == ["annual_report.member.information"]
    assert "/r/" in to_nord[0].body_text


def test_group_show_includes_the_latest_annual_report(initialised, register_of_kinds, rcli):
    """`group show` tells the group's annual report: its state, parts done, the next deadline
    and who has not written their regional part."""
    sid = register_of_kinds["national"]
    rcli("report", "open", str(YEAR), "--service", str(sid), actor=COORD)
    text = rcli("group", "show", str(sid)).output
    assert "Annual report 2026" in text and "0 of 6 parts done" in text
    assert "missing: Helse Nord RHF — Medlem nord" in text
    data = rcli.json("group", "show", str(sid))
    assert data["annual_report"]["next_deadline"]["what"] == "service part"


def test_report_part_needs_one_way_of_recording_it(initialised, register_of_kinds, rcli,
                                                  tmp_path):
    """`report part` with neither a file, --done nor --delivered-elsewhere (or a file and
    --delivered-elsewhere) is a usage error, exit 2."""
    rcli("report", "open", str(YEAR), "--service", str(register_of_kinds["national"]),
         actor=COORD)
    rid = str(report_of(initialised, register_of_kinds["national"]).id)
    rcli("report", "part", rid, "service", actor=COORD, expect=2)
    rcli("report", "part", rid, "service", "--file", _write(tmp_path, "x"),
         "--delivered-elsewhere", actor=COORD, expect=2)
    out = rcli("report", "part", rid, "service", "--done", actor=COORD, expect=1).output
    assert out.startswith("Error:") and "empty" in out
