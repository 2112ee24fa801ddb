"""The annual report cycle (`workflows/annual_report.toml`): its named hooks, which services
owe a report for a year, opening a year, and the steps after the parts are written
(approval, submission, assessment, feedback). Every change of the case's state goes through
`engine.fire`; the parts and their versions live in `report_parts.py`.

Which services owe a report for year Y (`owes_report`): the regulated kinds of
`workflows/lifecycle.toml` (national, multiregional, competence), established (the guide,
`002` §4.4: "from the year after it was established", so established in Y-1 or earlier; the
setting `report_from = "establishment_year"` takes the issue's wording instead: established
before or during Y), and not phased out before Y. A multiregional service is one service
row, and so gets one joint report.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from appointer import lookups, records
from appointer import workflow as wf
from appointer.db import Tx
from appointer.engine import Actor, CaseContext, Recipient
from appointer.errors import InvalidInput, NotFound
from appointer.models import ReportApproval, ReportCase, ReportPart, Service
from appointer.recipients import dedupe, region_contact, region_coordinators
from appointer.seats import REGION_ORDER, host_regions

hooks = wf.Hooks()
CASE_TYPE = "annual_report"
# The parts of a report in document order: the service's, one per region, the group's.
PARTS = ("service", *(f"region:{code}" for code in REGION_ORDER), "group")
RUNNING = ("established", "change_requested", "change_submitted", "change_prioritised",
           "change_sent", "phase_out_initiated", "reorganisation_decided")


# The first year a report can be for: Appointer holds no report from before it.
FIRST_REPORT_YEAR = 2000


def check_year(year: int, today: dt.date) -> None:
    """Refuse a report year outside FIRST_REPORT_YEAR up to this one (a report is written
    after its year, and the year in progress may be opened early)."""
    if not FIRST_REPORT_YEAR <= year <= today.year:
        raise InvalidInput(f"report year {year}: give a year from {FIRST_REPORT_YEAR} up to this "
                           f"one ({today.year})")


def load_workflow(tx_or_settings) -> wf.Workflow:
    settings = getattr(tx_or_settings, "settings", tx_or_settings)
    return wf.load("annual_report", settings.workflows_dir)


# -- dates ----------------------------------------------------------------------------------
def deadlines(settings, year: int) -> dict[str, dt.date]:
    """The cycle's dates for report year `year` (all in the year after it), from settings."""
    from appointer.settings import month_day

    def on(value: str) -> dt.date:
        month, day = month_day(value)
        return dt.date(year + 1, month, day)

    return {
        "service": on(settings.report_service_deadline),
        "regional": on(settings.report_regional_deadline),
        "group": on(settings.report_group_deadline),
        "complete": on(settings.annual_report_deadline),
        "assessment": on(settings.report_assessment_deadline),
        "feedback": on(settings.report_feedback_deadline),
    }


def part_deadline(settings, year: int, part: str) -> dt.date:
    """The service writes by its deadline, the regional members by theirs (default: the
    group's), the group leader, who coordinates the group's feedback (`001`), by the group's."""
    return deadlines(settings, year)["regional" if part.startswith("region:") else part]


# -- who owes a report ----------------------------------------------------------------------
def owes_report(service, year: int, settings) -> str | None:
    """None if the service owes a report for `year`; else why not (plain English)."""
    from appointer import lifecycle

    flow = lifecycle.load_workflow(settings)
    if service.kind not in flow.settings.get("regulated_kinds", ()):
        return f"a {service.kind} does not report to the RHFs as a national service"
    if service.state not in (*RUNNING, "phased_out"):
        return f"it is {service.state}, not established"
    if service.established_on is None:
        return "its establishment date is not recorded (`service advance … establish --date`)"
    first = service.established_on.year + (settings.report_from == "year_after")
    if year < first:
        return (f"it was established in {service.established_on.year}; it reports from "
                f"{first} on")
    if service.phased_out_on is not None and service.phased_out_on.year < year:
        return f"it was phased out in {service.phased_out_on.year}"
    return None


# -- roles ----------------------------------------------------------------------------------
def report_of(case):
    """The report case behind a hook's case (a report record, or a part's reminder item)."""
    return getattr(case, "report", case)


def _hosts(ctx: CaseContext) -> set[str]:
    return host_regions(ctx.tx.session, _service(ctx))


def _service(ctx: CaseContext):
    return ctx.tx.session.get(Service, report_of(ctx.case).service_id)


@hooks.role(describe=lambda ctx: "a registered coordinator")
def coordinator(ctx: CaseContext) -> bool:
    return ctx.actor.kind == "coordinator"


@hooks.role(describe=lambda ctx: "a coordinator of the region hosting the service ("
            + " or ".join(sorted(_hosts(ctx))) + ")")
def host_coordinator(ctx: CaseContext) -> bool:
    return ctx.actor.kind == "coordinator" and ctx.actor.region in _hosts(ctx)


@hooks.role(describe=lambda ctx: "the author of the group's part (the group leader)")
def group_author(ctx: CaseContext) -> bool:
    part = part_row(ctx.tx.session, report_of(ctx.case).id, "group")
    return (ctx.actor.kind != "coordinator" and part is not None and part.author_email is not None
            and ctx.actor.email == part.author_email)


@hooks.role(describe=lambda ctx: "the named submitter ("
            + (report_of(ctx.case).submitter_name or "none named") + ")")
def submitter(ctx: CaseContext) -> bool:
    report = report_of(ctx.case)
    return (ctx.actor.kind == "submitter" and report.submitter_email is not None
            and ctx.actor.email == report.submitter_email)


# -- parts (read) ---------------------------------------------------------------------------
def parts_of(session, report_id: int) -> list[ReportPart]:
    return list(session.exec(select(ReportPart).where(ReportPart.report_id == report_id)
                             .order_by(ReportPart.position)))


def part_row(session, report_id: int, part: str) -> ReportPart | None:
    return session.exec(select(ReportPart).where(ReportPart.report_id == report_id,
                                                 ReportPart.part == part)).first()


DONE = ("done", "delivered_elsewhere")


def missing_parts(session, report) -> list[ReportPart]:
    return [p for p in parts_of(session, report.id) if p.state not in DONE]


# -- requirements ---------------------------------------------------------------------------
@hooks.requirement
def approval_date(ctx: CaseContext) -> str | None:
    day = ctx.inputs.get("date")
    if day is None:
        return "the approval needs the date it was decided (--date YYYY-MM-DD)"
    if day > ctx.tx.clock.today():
        return f"--date {day} is after today ({ctx.tx.clock.today()})"
    return None


@hooks.requirement
def complete(ctx: CaseContext) -> str | None:
    """The service's and the group's parts done; every regional part not done confirmed
    missing (with a reason); nothing else named."""
    session, report = ctx.tx.session, report_of(ctx.case)
    without = ctx.inputs.get("without") or {}
    missing = {p.part: p for p in missing_parts(session, report)}
    for part in without:
        if part not in missing:
            return (f"--without-part {part}: " + ("that part is done" if part in PARTS
                                                  else f"no such part (parts: {', '.join(PARTS)})"))
        if not (without[part] or "").strip():
            return f"--without-part {part} needs --reason (why it is submitted without it)"
    for name in ("service", "group"):
        if name in missing:
            return f"the {name} part is not done yet; it cannot be left out"
    unconfirmed = [p for name, p in missing.items() if name not in without]
    if unconfirmed:
        who = "; ".join(f"{p.part} ({p.author_name or 'no member appointed'})" for p in unconfirmed)
        return (f"regional part(s) missing: {who}. Submit without them only on purpose: "
                "--without-part PART --reason TEXT for each")
    return None


@hooks.requirement
def assessment(ctx: CaseContext) -> str | None:
    if not (ctx.inputs.get("text") or "").strip():
        return "the assessment needs its text (--file)"
    return None


@hooks.requirement
def feedback(ctx: CaseContext) -> str | None:
    if not (ctx.inputs.get("text") or "").strip():
        return "the feedback needs its text (--file)"
    return None


# -- effects --------------------------------------------------------------------------------
def _who(actor: Actor) -> str:
    return f"{actor.name or actor.email or actor.kind} ({actor.kind})"


@hooks.effect
def record_approval(ctx: CaseContext) -> None:
    ctx.case.approved_on = ctx.inputs["date"]
    ctx.case.approved_by = _who(ctx.actor)
    ctx.case.approval_note = (ctx.inputs.get("note") or "").strip() or None


@hooks.effect
def record_submission(ctx: CaseContext) -> None:
    ctx.case.submitted_on = ctx.tx.clock.today()
    ctx.case.submitted_by = _who(ctx.actor)
    ctx.case.missing_parts = {k: v.strip() for k, v in (ctx.inputs.get("without") or {}).items()}


@hooks.effect
def record_regional_assessment(ctx: CaseContext) -> None:
    ctx.case.regional_assessment = ctx.inputs["text"].strip()
    ctx.case.regional_assessed_on = ctx.tx.clock.today()


@hooks.effect
def record_national_assessment(ctx: CaseContext) -> None:
    ctx.case.national_assessment = ctx.inputs["text"].strip()
    ctx.case.national_assessed_on = ctx.tx.clock.today()


@hooks.effect
def record_feedback(ctx: CaseContext) -> None:
    ctx.case.feedback = ctx.inputs["text"].strip()
    ctx.case.feedback_on = ctx.tx.clock.today()
    ctx.case.follow_up = (ctx.inputs.get("follow_up") or "").strip() or None


# -- recipient groups -----------------------------------------------------------------------
def _lang(ctx: CaseContext) -> str:
    return report_of(ctx.case).lang or ctx.tx.settings.lang


def _author(ctx: CaseContext, part: str, role: str = "report_author") -> list[Recipient]:
    row = part_row(ctx.tx.session, report_of(ctx.case).id, part)
    if row is None or not row.author_email:
        return []
    return [Recipient(row.author_email, row.author_name, role, _lang(ctx))]


@hooks.recipient_group
def service_author(ctx: CaseContext) -> list[Recipient]:
    return _author(ctx, "service")


@hooks.recipient_group
def group_author_recipient(ctx: CaseContext) -> list[Recipient]:
    return _author(ctx, "group")


@hooks.recipient_group
def regional_authors(ctx: CaseContext) -> list[Recipient]:
    """The appointed regional members, each for their region's part; the group leader is
    told about theirs in the group leader's message (one message per person)."""
    lead = {r.email for r in _author(ctx, "group")}
    out = [r for code in REGION_ORDER for r in _author(ctx, f"region:{code}")]
    return [r for r in dedupe(out) if r.email not in lead]


@hooks.recipient_group
def submitter_recipient(ctx: CaseContext) -> list[Recipient]:
    report = report_of(ctx.case)
    if not report.submitter_email:
        return []
    return [Recipient(report.submitter_email, report.submitter_name, "report_submitter",
                      _lang(ctx))]


hooks.recipients["submitter"] = submitter_recipient


@hooks.recipient_group
def other_submitter(ctx: CaseContext) -> list[Recipient]:
    """The submitter, where it is someone else than the service's author (who is told in
    the service's message)."""
    authors = {r.email for r in service_author(ctx)}
    return [r for r in submitter_recipient(ctx) if r.email not in authors]


@hooks.recipient_group
def members(ctx: CaseContext) -> list[Recipient]:
    """Every appointed member of the service's group."""
    return dedupe([Recipient(m.candidate_email, m.candidate_name, "report_member",
                             m.lang or _lang(ctx))
                   for m in lookups.appointed_members(ctx.tx.session,
                                                      report_of(ctx.case).service_id)])


@hooks.recipient_group
def unapproved_members(ctx: CaseContext) -> list[Recipient]:
    approved = approvals(ctx.tx.session, report_of(ctx.case).id)
    return [r for r in members(ctx)
            if approved.get(r.email, {}).get("decision") != "approve"]


@hooks.recipient_group
def host_contacts(ctx: CaseContext) -> list[Recipient]:
    return dedupe([r for code in REGION_ORDER if code in _hosts(ctx)
                   for r in region_contact(ctx.tx, code)])


@hooks.recipient_group
def host_coordinators(ctx: CaseContext) -> list[Recipient]:
    return dedupe([r for code in REGION_ORDER if code in _hosts(ctx)
                   for r in region_coordinators(ctx.tx, code)])


@hooks.recipient_group
def service_people(ctx: CaseContext) -> list[Recipient]:
    """The service (its leader and the submitter) and the group leader."""
    from appointer.recipients import service_leader

    return dedupe(service_leader(_service(ctx)) + submitter_recipient(ctx)
                  + group_author_recipient(ctx))


@hooks.recipient_group
def part_author(ctx: CaseContext) -> list[Recipient]:
    """A part's author (the reminder items of `report_agenda.py` carry the part)."""
    part = getattr(ctx.case, "part", None)
    return _author(ctx, part.part) if part is not None else []


@hooks.recipient_group
def part_region_coordinators(ctx: CaseContext) -> list[Recipient]:
    """Escalation: the coordinators of the part's region (the host region for the service's
    and the group's parts)."""
    part = getattr(ctx.case, "part", None)
    if part is None:
        return []
    if part.part.startswith("region:"):
        return region_coordinators(ctx.tx, part.part.partition(":")[2])
    return host_coordinators(ctx)


def approvals(session, report_id: int) -> dict[str, dict]:
    """Each member's latest answer: email -> {decision, comment, at, name}."""
    out: dict[str, dict] = {}
    for row in session.exec(select(ReportApproval).where(ReportApproval.report_id == report_id)
                            .order_by(ReportApproval.id)):
        out[row.email] = {"decision": row.decision, "comment": row.comment, "at": row.created_at,
                          "name": row.name}
    return out


# -- link pages -----------------------------------------------------------------------------
def part_page(ctx: CaseContext, recipient: Recipient) -> str | None:
    """The author's page: only the parts this person writes."""
    from appointer import report_links

    report = report_of(ctx.case)
    mine = [p.part for p in parts_of(ctx.tx.session, report.id)
            if p.author_email == recipient.email]
    return report_links.issue(ctx.tx, report, recipient, "author", mine) if mine else None


def approve_page(ctx: CaseContext, recipient: Recipient) -> str | None:
    from appointer import report_links

    return report_links.issue(ctx.tx, report_of(ctx.case), recipient, "member", ["approve"])


def submit_page(ctx: CaseContext, recipient: Recipient) -> str | None:
    from appointer import report_links

    return report_links.issue(ctx.tx, report_of(ctx.case), recipient, "submitter", ["submit"])


hooks.pages.update(part=part_page, approve=approve_page, submit=submit_page)


# -- what the templates see -----------------------------------------------------------------
@hooks.case_context
def context(ctx: CaseContext) -> dict:
    report = report_of(ctx.case)
    out = report_context(ctx.tx, report)
    out["trigger"] = ctx.workflow.transitions[ctx.taken].trigger if ctx.taken is not None else None
    out["part"] = getattr(ctx.case, "part", None)
    return out


def report_context(tx: Tx, report) -> dict:
    session = tx.session
    service = session.get(Service, report.service_id)
    parts = parts_of(session, report.id)
    return {
        "report": report, "case": report, "service": service, "year": report.year,
        "deadlines": deadlines(tx.settings, report.year),
        "parts": parts, "missing": [p for p in parts if p.state not in DONE],
        "regions": {code: lookups.region(session, code) for code in REGION_ORDER},
        "mandate_task": _mandate_task(),
        "previous": _previous(session, report),
    }


def _mandate_task() -> dict[str, str]:
    """The mandate's wording of the group's part in the annual report (`000` §2)."""
    from appointer.web.pages import mandate

    data = mandate()
    return {lang: next(t for section in data[lang]["sections"] for t in section["items"]
                       if "rsrapport" in t or "annual report" in t)
            for lang in ("nb", "en")}


def _previous(session, report):
    """Last year's report of the service (its feedback's follow-up is shown in this one)."""
    return session.exec(select(ReportCase).where(ReportCase.service_id == report.service_id,
                                                 ReportCase.year == report.year - 1)).first()


# -- operations -----------------------------------------------------------------------------
def get_report(session, report_id) -> records.Record:
    try:
        row = records.load(session, ReportCase, int(report_id))
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise NotFound(f"no annual report {report_id}; see `appointer report status`")
    return row
