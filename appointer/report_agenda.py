"""The annual reports' items on the agenda: each part not done, reminded to its author 14
and 7 days before the part's deadline (`[settings] part_remind_before_days` of
workflows/annual_report.toml), then escalated once to the coordinators of the author's region
(their weekly digest) the day after it (`part_escalate_after_days`). A part done, or
delivered elsewhere, has no item: nothing more is sent about it.

The members who have not approved and the submitter of an approved report are reminded by
the workflow file's states (`approval`, `approved`: remind_after_days), like any case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from appointer.models import ReportCase, ReportPart
from appointer.reports import DONE, load_workflow, part_deadline
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
    if not reports:
        return []
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
    return out
