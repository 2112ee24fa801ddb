"""The annual reports' items on the agenda: each part not done, reminded to its author 14
and 7 days before the part's deadline (`[settings] part_remind_before_days` of
workflows/annual_report.toml), then escalated once to the coordinators of the author's region
(their weekly digest) the day after it (`part_escalate_after_days`). A part done, or
delivered elsewhere, has no item: nothing more is sent about it.

A group that delivered no part of its service's report (or held no meeting) in each of the
two latest years whose deadline has passed is flagged (`silent_groups`): an item for the host
region's digest, and a line in `report status`.

The members who have not approved and the submitter of an approved report are reminded by
the workflow file's states (`approval`, `approved`: remind_after_days), like any case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from appointer.models import Meeting, ReportCase, ReportPart
from appointer.reports import DONE, deadlines, load_workflow, part_deadline
from appointer.seats import REGION_ORDER

OPEN = ("writing", "approval", "approved")


@dataclass
class PartItem:
    """What the workflow's hooks see of a part's reminder: the report (`report_of`) and the
    part (`part_author`, `part_region_coordinators`)."""

    report: Any
    part: Any

    @property
    def id(self) -> int:
        return self.report.id

    @property
    def state(self) -> str:
        return self.report.state


def report_items(session, settings, reg, services, today: dt.date) -> list:
    from appointer.agenda import Item, Step

    flow = load_workflow(settings)
    before = sorted(set(flow.settings.get("part_remind_before_days", (14, 7))), reverse=True)
    after = int(flow.settings.get("part_escalate_after_days", 1))
    reports = {r.id: r for r in session.exec(select(ReportCase).where(ReportCase.state.in_(OPEN)))}
    out = []
    rows = session.exec(select(ReportPart).where(ReportPart.report_id.in_(list(reports)),
                                                 ReportPart.state.not_in(DONE))
                        .order_by(ReportPart.report_id, ReportPart.position))
    for part in rows:
        report = reports[part.report_id]
        service = services.get(report.service_id)
        due = part_deadline(settings, report.year, part.part)
        code = part.part.partition(":")[2] if part.part.startswith("region:") else None
        regions = (code,) if code else tuple(r for r in REGION_ORDER
                                             if r in reg.host_regions(report.service_id))
        rule = f"annual_report.part.{report.year}"
        steps = [Step(f"{rule}.remind", due - dt.timedelta(days=d), ("part_author",), n)
                 for n, d in enumerate(before, start=1)]
        steps.append(Step(f"{rule}.escalate", due + dt.timedelta(days=after),
                          ("part_region_coordinators",), 1, escalation=True))
        who = part.author_name or "no member appointed"
        out.append(Item(
            kind="annual_report.part", key=rule, subject_type="report_part", subject_id=part.id,
            service_id=report.service_id, service_name=service.name if service else "?",
            regions=regions, due_on=due,
            label=f"annual report {report.year}, {part.part} part ({who}): {part.state}",
            steps=tuple(steps),
            detail={"report_id": report.id, "year": report.year, "part": part.part,
                    "region": code or (regions[0] if regions else None),
                    "region_name": reg.region_name(code) if code else None,
                    "author": part.author_name, "state": part.state, "page": "part"},
            case=PartItem(report, part), workflow=flow))
    return out + silent_items(session, settings, reg, services, today)


SILENT = {"no_group_report": "the reference group delivered no part of the annual report",
          "no_meeting": "the reference group recorded no meeting"}


def closed_years(settings, today: dt.date) -> tuple[int, int]:
    """The two latest report years whose complete-at-the-RHF date has passed."""
    latest = today.year - 1 if today > deadlines(settings, today.year - 1)["complete"] \
        else today.year - 2
    return latest - 1, latest


def silent_groups(session, settings, services, today: dt.date) -> dict[int, list[str]]:
    """service id -> what its group failed to do in both of the two latest closed years
    (keys of SILENT), for the services with a report case both years. Set-based."""
    years = closed_years(settings, today)
    opened = set(session.exec(select(ReportCase.service_id, ReportCase.year)
                              .where(ReportCase.year.in_(years))).all())
    delivered = set(session.exec(
        select(ReportCase.service_id, ReportCase.year).join(
            ReportPart, ReportPart.report_id == ReportCase.id)
        .where(ReportCase.year.in_(years), ReportPart.part == "group",
               ReportPart.state.in_(DONE))).all())
    met = {(sid, day.year) for sid, day in session.exec(
        select(Meeting.service_id, Meeting.held_on).where(
            Meeting.held_on >= dt.date(years[0], 1, 1),
            Meeting.held_on <= dt.date(years[1], 12, 31))).all()}
    out: dict[int, list[str]] = {}
    for service in services:
        if not all((service.id, y) in opened for y in years):
            continue  # the cycle did not run here both years (e.g. reported in eRapport only)
        flags = [flag for flag, done in (("no_group_report", delivered), ("no_meeting", met))
                 if not any((service.id, y) in done for y in years)]
        if flags:
            out[service.id] = flags
    return out


def silent_items(session, settings, reg, services, today: dt.date) -> list:
    from appointer.agenda import Item, Step

    years = closed_years(settings, today)
    due = deadlines(settings, years[1])["complete"]
    out = []
    for sid, flags in silent_groups(session, settings, services.values(), today).items():
        rule = f"annual_report.silent_group.{years[1]}"
        out.append(Item(
            kind="annual_report.silent_group", key=rule, subject_type="group", subject_id=sid,
            service_id=sid, service_name=services[sid].name,
            regions=tuple(r for r in REGION_ORDER if r in reg.host_regions(sid)), due_on=due,
            label=f"{' and '.join(SILENT[f] for f in flags)} in {years[0]} or {years[1]}",
            steps=(Step(rule, due + dt.timedelta(days=1), ("service_region",)),),
            detail={"flags": flags, "years": list(years)}))
    return out
