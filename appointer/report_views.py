"""Reading the annual reports: the year at a glance (`report status`) and one report as a
document (`report export`). Reads only."""

from __future__ import annotations

import datetime as dt
import html as _html

from sqlmodel import select

from appointer import lookups
from appointer.db import Tx
from appointer.errors import InvalidInput
from appointer.models import ReportCase, Service
from appointer.report_agenda import silent_groups
from appointer.report_parts import version, versions
from appointer.reports import (
    DONE,
    approvals,
    check_year,
    deadlines,
    get_report,
    part_deadline,
    parts_of,
)
from appointer.seats import host_regions


def _region_of(part: str) -> str | None:
    return part.partition(":")[2] if part.startswith("region:") else None


def next_deadline(settings, report, parts, today: dt.date) -> dict | None:
    """What the report waits for next, and when it is due."""
    d = deadlines(settings, report.year)
    names = {"service": "service part", "regional": "regional parts", "group": "group part"}
    pending = sorted({(part_deadline(settings, report.year, p.part),
                       "regional" if p.part.startswith("region:") else p.part)
                      for p in parts if p.state not in DONE})
    if report.state == "writing" and pending:
        on, key = pending[0]
        what = names[key]
    elif report.state == "writing":
        what, on = "group part", d["group"]
    elif report.state in ("approval", "approved"):
        what, on = "complete at the RHF", d["complete"]
    elif report.state == "submitted":
        what, on = "regional assessment", d["assessment"]
    elif report.state in ("assessed", "assessed_nationally"):
        what, on = "feedback to the service", d["feedback"]
    else:
        return None
    return {"what": what, "on": on, "days": (on - today).days}


def report_dict(tx: Tx, report, today: dt.date | None = None) -> dict:
    session, settings = tx.session, tx.settings
    today = today or tx.clock.today()
    service = session.get(Service, report.service_id)
    parts = parts_of(session, report.id)
    answers = approvals(session, report.id)
    out_parts, missing = [], []
    for p in parts:
        due = part_deadline(settings, report.year, p.part)
        code = _region_of(p.part)
        entry = {"part": p.part, "region": code,
                 "region_name": lookups.region(session, code).name if code else None,
                 "author_name": p.author_name, "author_email": p.author_email,
                 "state": p.state, "versions": len(versions(session, p.id)),
                 "due_on": due, "days_left": (due - today).days if p.state not in DONE else None,
                 "done_at": p.done_at}
        out_parts.append(entry)
        if code and p.state not in DONE:
            missing.append({"region": code, "region_name": entry["region_name"],
                            "name": p.author_name, "email": p.author_email, "state": p.state,
                            "note": None if p.author_email else "no member appointed"})
    members = [{"name": m.candidate_name, "email": m.candidate_email,
                "answer": answers.get(m.candidate_email, {}).get("decision"),
                "comment": answers.get(m.candidate_email, {}).get("comment")}
               for m in lookups.appointed_members(session, report.service_id)]
    return {
        "id": report.id, "state": report.state, "year": report.year,
        "service_id": service.id, "service": service.name, "kind": service.kind,
        "host_regions": sorted(host_regions(session, service)),
        "submitter": {"name": report.submitter_name, "email": report.submitter_email},
        "parts": out_parts, "missing_regional_parts": missing,
        "approval": {"approved_on": report.approved_on, "approved_by": report.approved_by,
                     "note": report.approval_note, "members": members},
        "submitted": report.submitted_on is not None, "submitted_on": report.submitted_on,
        "submitted_by": report.submitted_by, "submitted_without": dict(report.missing_parts or {}),
        "regional_assessment_on": report.regional_assessed_on,
        "national_assessment_on": report.national_assessed_on,
        "feedback_on": report.feedback_on, "follow_up": report.follow_up,
        "next_deadline": next_deadline(settings, report, parts, today),
        "flags": silent_groups(session, settings, [service], today).get(service.id, []),
    }


def status(tx: Tx, year: int | None = None, region: str | None = None) -> dict:
    """Every report of the year (default: the latest year with reports). `region`: the
    reports of services it hosts, and every report whose part for that region is not done."""
    session = tx.session
    if year is None:
        year = session.exec(select(ReportCase.year).order_by(ReportCase.year.desc())).first()
        if year is None:
            raise InvalidInput("no annual reports yet; open a year with `appointer report open YEAR`")
    else:
        check_year(year, tx.clock.today())
    code = None
    if region:
        from appointer.reference import region_code

        code = region_code(session, region)
    rows = session.exec(select(ReportCase.id).where(ReportCase.year == year)
                        .order_by(ReportCase.service_id))
    reports = []
    for report_id in rows:
        data = report_dict(tx, get_report(session, report_id))
        if code and code not in data["host_regions"] and not any(
                m["region"] == code for m in data["missing_regional_parts"]):
            continue
        reports.append(data)
    return {"id": year, "state": "status", "year": year, "region": code, "reports": reports,
            "deadlines": deadlines(tx.settings, year)}


# -- the report as a document ---------------------------------------------------------------
_WORDS = {
    "nb": {"title": "Årsrapport {year}", "service": "Tjenestens del", "group":
           "Referansegruppens del", "region": "Region {name}", "approval": "Godkjenning",
           "submission": "Innsending", "approved": "Godkjent av referansegruppen {on} ({by}).",
           "not_approved": "Ikke godkjent ennå.", "submitted": "Sendt inn {on} av {by}.",
           "not_submitted": "Ikke sendt inn ennå.", "without": "Sendt uten {part}: {reason}",
           "author": "Forfatter", "none": "(ingen tekst)", "elsewhere":
           "(levert utenfor Appointer, f.eks. i eRapport)", "nobody": "ikke oppnevnt",
           "follow_up": "Til oppfølging fra fjorårets tilbakemelding"},
    "en": {"title": "Annual report {year}", "service": "The service's part", "group":
           "The reference group's part", "region": "Region {name}", "approval": "Approval",
           "submission": "Submission", "approved": "Approved by the reference group on {on} "
           "({by}).", "not_approved": "Not approved yet.", "submitted": "Submitted on {on} by "
           "{by}.", "not_submitted": "Not submitted yet.", "without": "Submitted without {part}: "
           "{reason}", "author": "Author", "none": "(no text)", "elsewhere":
           "(delivered outside Appointer, e.g. in eRapport)", "nobody": "not appointed",
           "follow_up": "To follow up from last year's feedback"},
}


def document(tx: Tx, report_id) -> dict:
    """The report's sections in order: service, regional parts in region order, group part,
    approval, submission."""
    session = tx.session
    report = get_report(session, report_id)
    service = session.get(Service, report.service_id)
    lang = report.lang if report.lang in _WORDS else "nb"
    w = _WORDS[lang]
    sections = []
    previous = session.exec(select(ReportCase).where(ReportCase.service_id == service.id,
                                                     ReportCase.year == report.year - 1)).first()
    if previous is not None and previous.follow_up:
        sections.append({"title": w["follow_up"], "meta": None, "text": previous.follow_up})
    for p in parts_of(session, report.id):
        code = _region_of(p.part)
        title = w["region"].format(name=lookups.region(session, code).name) if code else w[p.part]
        current = version(session, p.current_version_id)
        text = current.text if current else (w["elsewhere"] if p.state == "delivered_elsewhere"
                                             else w["none"])
        sections.append({"title": title, "part": p.part, "state": p.state,
                         "meta": f"{w['author']}: {p.author_name or w['nobody']}", "text": text})
    approval = (w["approved"].format(on=report.approved_on, by=report.approved_by)
                if report.approved_on else w["not_approved"])
    if report.approval_note:
        approval += f" {report.approval_note}"
    sections.append({"title": w["approval"], "meta": None, "text": approval})
    sub = (w["submitted"].format(on=report.submitted_on, by=report.submitted_by)
           if report.submitted_on else w["not_submitted"])
    for part, reason in (report.missing_parts or {}).items():
        sub += "\n\n" + w["without"].format(part=part, reason=reason)
    sections.append({"title": w["submission"], "meta": None, "text": sub})
    return {"id": report.id, "state": report.state, "lang": lang,
            "title": f"{w['title'].format(year=report.year)}: {service.name}",
            "sections": sections}


def to_markdown(doc: dict) -> str:
    out = [f"# {doc['title']}", ""]
    for s in doc["sections"]:
        out += [f"## {s['title']}", ""]
        if s.get("meta"):
            out += [f"*{s['meta']}*", ""]
        out += [s["text"].strip(), ""]
    return "\n".join(out)


_CSS = ("body{font-family:Georgia,serif;max-width:42em;margin:2em auto;line-height:1.5;"
        "color:#111}h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:"
        "1px solid #999}.meta{color:#555;font-style:italic}"
        "@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}}")


def to_html(doc: dict) -> str:
    esc = _html.escape
    body = [f"<h1>{esc(doc['title'])}</h1>"]
    for s in doc["sections"]:
        body.append(f"<section><h2>{esc(s['title'])}</h2>")
        if s.get("meta"):
            body.append(f"<p class=\"meta\">{esc(s['meta'])}</p>")
        body += [f"<p>{esc(p).replace(chr(10), '<br>')}</p>"
                 for p in s["text"].strip().split("\n\n") if p.strip()]
        body.append("</section>")
    return (f"<!DOCTYPE html>\n<html lang=\"{doc['lang']}\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{esc(doc['title'])}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def service_summary(tx: Tx, service_id: int) -> dict | None:
    """The service's latest annual report in a few facts (for `group show`)."""
    row = tx.session.exec(select(ReportCase.id).where(ReportCase.service_id == service_id)
                          .order_by(ReportCase.year.desc())).first()
    if row is None:
        return None
    data = report_dict(tx, get_report(tx.session, row))
    return {"id": data["id"], "year": data["year"], "state": data["state"],
            "parts_done": sum(p["state"] in DONE for p in data["parts"]),
            "parts": len(data["parts"]), "approved_on": data["approval"]["approved_on"],
            "submitted_on": data["submitted_on"], "next_deadline": data["next_deadline"],
            "missing_regional_parts": data["missing_regional_parts"], "flags": data["flags"]}
