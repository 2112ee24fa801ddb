"""The service lifecycle (`workflows/lifecycle.toml`): its named hooks, and the operations the
CLI calls (apply, advance). Every change of state goes through `engine.fire`.

A step's date is an input (`--date`, default today): the date the step happened, recorded on
the service row by the `record_<field>` effects the workflow file names. Dates run forward:
a step may not be dated after today, nor before a date the service already has.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

from sqlmodel import select

from appointer import engine, lookups, records
from appointer import workflow as wf
from appointer.clock import EARLIEST, format_partial
from appointer.db import Tx
from appointer.engine import Actor, CaseContext, Recipient
from appointer.errors import InvalidField, InvalidInput
from appointer.models import Service, ServiceHost, ServiceName, ServicePredecessor
from appointer.reference import service_record, services_named
from appointer.seats import REGION_ORDER, host_regions
from appointer.text import check_name

hooks = wf.Hooks()

# The date columns of a service, in lifecycle order (approved and rejected never meet).
DATE_FIELDS = ("submitted_on", "prioritised_on", "sent_on", "approved_on", "rejected_on",
               "established_on", "last_evaluated_on", "continued_on", "change_step_on",
               "phase_out_initiated_on", "reorganisation_decided_on", "phased_out_on")
# Dates that need not fall in that order among themselves (an evaluation may come before or
# after the decision on a new term, or a change): checked only against establishment and
# the phase-out.
UNORDERED = ("last_evaluated_on", "continued_on", "change_step_on")
FIELD_LABELS = {
    "submitted_on": "submitted", "prioritised_on": "prioritised", "sent_on": "sent",
    "approved_on": "approved", "rejected_on": "rejected", "established_on": "established",
    "last_evaluated_on": "last evaluated", "continued_on": "continued after its term",
    "change_step_on": "moved on in a change round",
    "phase_out_initiated_on": "phase-out initiated",
    "reorganisation_decided_on": "reorganisation decided", "phased_out_on": "phased out",
    "reorganisation_outcome": "outcome of the reorganisation",
    "continuation": "decision after the term",
}
# decide_reorganisation --outcome: what happens to the service's functions (`002` §4.1)
OUTCOMES = {
    "discontinue": "discontinued",
    "network": "continued as a national quality and competence network",
    "centre": "continued as a national centre",
    "other": "continued in another form",
}
SUCCESSOR_KINDS = ("network", "centre")
# continue --outcome: a competence service's form after its term (`002` §4.1). A new term
# counts the term again from the decision; the others end the competence term rules for this
# record (moving it into a successor record of its new kind is the phase-out path:
# initiate_phase_out, decide_reorganisation --outcome centre|network).
CONTINUATIONS = {
    "new_term": "a new term as a national competence service",
    "centre": "continues as a national centre",
    "network": "continues as a national quality and competence network",
    "other": "continues in another form",
}


def load_workflow(tx_or_settings) -> wf.Workflow:
    settings = getattr(tx_or_settings, "settings", tx_or_settings)
    return wf.load("lifecycle", settings.workflows_dir)


# -- roles ----------------------------------------------------------------------------------
@hooks.role(describe=lambda ctx: "a registered coordinator")
def coordinator(ctx: CaseContext) -> bool:
    return ctx.actor.kind == "coordinator"


@hooks.role(describe=lambda ctx: "a coordinator of the region hosting the service ("
            + (" or ".join(sorted(host_regions(ctx.tx.session, ctx.case)))
               or "any region while the host is unknown") + ")")
def host_coordinator(ctx: CaseContext) -> bool:
    """While the host is unknown (a service imported without one), any coordinator."""
    regions = host_regions(ctx.tx.session, ctx.case)
    return ctx.actor.kind == "coordinator" and (not regions or ctx.actor.region in regions)


# -- requirements (checked before anything changes) -----------------------------------------
def latest_date(service: Service) -> tuple[str, dt.date] | None:
    dated = [(f, getattr(service, f)) for f in DATE_FIELDS if getattr(service, f) is not None]
    return max(dated, key=lambda fd: fd[1]) if dated else None


def _date_requirement(ctx: CaseContext) -> str | None:
    day = ctx.inputs.get("date")
    if day is None:
        return "this step needs the date it happened (--date YYYY-MM-DD, default today)"
    today = ctx.tx.clock.today()
    if day > today:
        return f"--date {day} is after today ({today}): record a step once it has happened"
    latest = latest_date(ctx.case)
    if latest and day < latest[1]:
        return (f"--date {day} is before the date the service was {FIELD_LABELS[latest[0]]} "
                f"({latest[1]}); lifecycle dates run forward")
    return None


hooks.inputs["date"] = _date_requirement


def _decision_requirement(ctx: CaseContext) -> str | None:
    """A decision of the deciding body (approval, rejection, a change, a phase-out) is that
    body's act: a coordinator records it, with its reference (issue 12)."""
    if (ctx.inputs.get("decision_ref") or "").strip():
        return None
    return (f"this is {ctx.tx.settings.deciding_body}'s decision: record it with "
            "--decision-ref (the decision's reference, e.g. 'HOD 24/1234') and --date (its date)")


hooks.inputs["decision_ref"] = _decision_requirement


def _name_taken(session, name: str, but: int | None = None) -> bool:
    return any(row.id != but for row in services_named(session, name))


@hooks.requirement
def outcome(ctx: CaseContext) -> str | None:
    value = ctx.inputs.get("outcome")
    if value not in OUTCOMES:
        return ("decide_reorganisation needs --outcome: " + "; ".join(
            f"{k} ({v})" for k, v in OUTCOMES.items()))
    if value in SUCCESSOR_KINDS:
        name = (ctx.inputs.get("successor_name") or "").strip()
        if not name:
            return (f"--outcome {value} creates the new service record with its own reference "
                    "group: give its name (--successor-name, and --successor-name-en)")
        if _name_taken(ctx.tx.session, name):
            return f"a service called {name!r} is already registered"
    elif ctx.inputs.get("successor_name"):
        return f"--successor-name applies to the outcomes {' and '.join(SUCCESSOR_KINDS)} only"
    return None


@hooks.requirement
def continuation(ctx: CaseContext) -> str | None:
    if ctx.case.kind != "competence":
        return (f"continue records the decision after a competence service's term; service "
                f"{ctx.case.id} is {ctx.case.kind}")
    if ctx.inputs.get("outcome") not in CONTINUATIONS:
        return ("continue needs --outcome: " + "; ".join(
            f"{k} ({v})" for k, v in CONTINUATIONS.items())
            + " (to discontinue the service: initiate_phase_out)")
    if ctx.case.continuation not in (None, "new_term"):
        return (f"service {ctx.case.id} already continues as {ctx.case.continuation}: the "
                "term rules no longer apply to it")
    return None


@hooks.requirement
def change(ctx: CaseContext) -> str | None:
    name = (ctx.inputs.get("new_name") or "").strip()
    if not name and not ctx.inputs.get("new_name_en") and not ctx.inputs.get("comment"):
        return ("say what is to change: --new-name (and --new-name-en) for a new approved name, "
                "or --comment describing the change (a substantially changed content is in "
                "principle a new service: `service apply`)")
    if name and name.lower() != ctx.case.name.lower() and _name_taken(ctx.tx.session, name):
        return f"a service called {name!r} is already registered"
    return None


# -- effects (run in the transaction, after the state changed) ------------------------------
def _recorder(field: str):
    def record(ctx: CaseContext) -> None:
        setattr(ctx.case, field, ctx.inputs["date"])

    record.__name__ = f"record_{field}"
    return record


for _field in DATE_FIELDS:
    hooks.effects[f"record_{_field}"] = _recorder(_field)


@hooks.effect
def record_reorganisation_outcome(ctx: CaseContext) -> None:
    ctx.case.reorganisation_outcome = ctx.inputs["outcome"]


@hooks.effect
def record_continuation(ctx: CaseContext) -> None:
    ctx.case.continuation = ctx.inputs["outcome"]


@hooks.effect
def reopen_application(ctx: CaseContext) -> None:
    """A deprioritised application goes back to draft for a later round."""
    ctx.case.submitted_on = None
    ctx.case.prioritised_on = None


@hooks.effect
def record_approved_name(ctx: CaseContext) -> None:
    """The name the service was approved under, kept in its name history."""
    ctx.tx.session.add(ServiceName(service_id=ctx.case.id, name=ctx.case.name,
                                   name_en=ctx.case.name_en, valid_from=ctx.inputs["date"]))


def pending_name(session, service: Service) -> ServiceName | None:
    """The name change applied for and not yet decided (an unapproved name row)."""
    return session.exec(select(ServiceName).where(ServiceName.service_id == service.id,
                                                  ServiceName.approved == False)  # noqa: E712
                        .order_by(ServiceName.id.desc())).first()


@hooks.effect
def record_change_request(ctx: CaseContext) -> None:
    name = (ctx.inputs.get("new_name") or "").strip() or None
    name_en = (ctx.inputs.get("new_name_en") or "").strip() or None
    if name or name_en:
        ctx.tx.session.add(ServiceName(service_id=ctx.case.id, name=name or ctx.case.name,
                                       name_en=name_en or ctx.case.name_en,
                                       valid_from=ctx.inputs["date"], approved=False))


@hooks.effect
def apply_change(ctx: CaseContext) -> None:
    """An approved name change becomes the service's name from the decision's date."""
    row = pending_name(ctx.tx.session, ctx.case)
    if row is None:
        return
    ctx.inputs["previous_name"] = ctx.case.name
    row.approved, row.valid_from = True, ctx.inputs["date"]
    ctx.case.name, ctx.case.name_en = row.name, row.name_en
    ctx.tx.session.add(row)


@hooks.effect
def drop_change(ctx: CaseContext) -> None:
    """A rejected name change leaves the name history (the audit keeps what was asked)."""
    row = pending_name(ctx.tx.session, ctx.case)
    if row is not None:
        ctx.inputs["rejected_name"] = row.name
        ctx.tx.session.delete(row)


@hooks.effect
def create_successor(ctx: CaseContext) -> None:
    """A service continuing as a network or centre gets a new record of that kind, approved on
    the decision's date, hosted where it was, with its own reference group to build."""
    kind = ctx.inputs["outcome"]
    if kind not in SUCCESSOR_KINDS:
        return
    from appointer import audit

    old, session, day = ctx.case, ctx.tx.session, ctx.inputs["date"]
    now = ctx.tx.clock.now()
    new = records.new(Service, name=ctx.inputs["successor_name"].strip(),
                      name_en=(ctx.inputs.get("successor_name_en") or "").strip() or None,
                      kind=kind, leader_name=old.leader_name, leader_email=old.leader_email,
                      state="approved", lang=old.lang, approved_on=day,
                      created_at=now, state_since=now)
    records.write(session, new)
    session.add(ServicePredecessor(service_id=new.id, predecessor_id=old.id))
    first = session.exec(select(ServiceHost).where(ServiceHost.service_id == old.id)
                         .order_by(ServiceHost.position)).first()
    if first is not None:
        session.add(ServiceHost(service_id=new.id, position=1, institution_id=first.institution_id))
    session.add(ServiceName(service_id=new.id, name=new.name, name_en=new.name_en, valid_from=day))
    audit.record(ctx.tx, "service", new.id, "register", None, "approved", ctx.actor,
                 f"continues service {old.id} ({OUTCOMES[kind]}), decided {day}")
    ctx.inputs["successor"] = new


# -- recipient groups -----------------------------------------------------------------------
@hooks.recipient_group
def rhfs_and_service(ctx: CaseContext) -> list[Recipient]:
    """The four RHFs' contacts (coordinators where none is set) and the service's leader."""
    from appointer import recipients

    rhfs = [r for code in REGION_ORDER for r in recipients.region_contact(ctx.tx, code)]
    return recipients.dedupe(recipients.service_leader(ctx.case) + rhfs)


# -- what the email template sees -----------------------------------------------------------
@hooks.case_context
def context(ctx: CaseContext) -> dict:
    from appointer import deadlines
    from appointer.seats import hosts

    service, settings, today = ctx.case, ctx.tx.settings, ctx.tx.clock.today()
    spec = ctx.workflow.transitions[ctx.taken]
    return {
        "service": service,
        "hosts": [h.institution.name for h in hosts(ctx.tx.session, service)],
        "trigger": spec.trigger,
        "state": spec.dest,
        "date": ctx.inputs.get("date") or today,
        "comment": ctx.inputs.get("comment"),
        "outcome": ctx.inputs.get("outcome"),
        "term": deadlines.competence_term(service, settings),
        "successor": ctx.inputs.get("successor"),
        "previous_name": ctx.inputs.get("previous_name"),
        "rejected_name": ctx.inputs.get("rejected_name"),
        "new_name": pending_name(ctx.tx.session, service) if spec.trigger == "request_change"
        else None,
        "round": deadlines.application_round(service, settings, today),
        "deadlines": [d for d in deadlines.service_deadlines(service, settings, today)
                      if not d.done],
        "deciding_body": settings.deciding_body,
        "deciding_body_copy": settings.deciding_body_copy,
        # the acting region signs the notice (none for a step the system takes)
        "sender": lookups.region(ctx.tx.session, ctx.actor.region) if ctx.actor.region else None,
        "decision_ref": ctx.inputs.get("decision_ref"),
    }


# -- what fits which state (derived from the file) ------------------------------------------
RECORDED = (*DATE_FIELDS, "reorganisation_outcome", "continuation")


@functools.lru_cache(maxsize=64)  # a loaded workflow never changes
def fields_that_fit(workflow: wf.Workflow, state: str) -> frozenset[str]:
    """Fields recorded on some way from the start to `state`: the dates a service in that
    state can have."""
    def reaches(start: str) -> bool:
        seen, todo = {start}, [start]
        while todo:
            here = todo.pop()
            if here == state:
                return True
            for t in workflow.transitions:
                if here in t.source and t.dest not in seen:
                    seen.add(t.dest)
                    todo.append(t.dest)
        return False

    return frozenset(e.removeprefix("record_") for t in workflow.transitions if reaches(t.dest)
                     for e in t.effects if e.removeprefix("record_") in RECORDED)


def _latest_day(day: dt.date, precision: str | None) -> dt.date:
    """The last day a date known to this precision may be (2011 → 2011-12-31)."""
    from appointer.deadlines import add_months

    months = {"year": 12, "month": 1}.get(precision or "day")
    return add_months(day, months) - dt.timedelta(days=1) if months else day


def check_record(workflow: wf.Workflow, state: str, fields: dict, today: dt.date,
                 precision: dict | None = None) -> list[str]:
    """Check the state and recorded fields of a service being registered as it stands (an
    existing service, or one half-way through the lifecycle), or corrected. `precision`:
    {field: "year"|"month"} for dates known only so far (stored as the period's first day):
    such a date is out of order only if the whole period is. Raises InvalidField naming the
    field and the rule; returns warnings for fields the state should have."""
    precision = precision or {}
    states = [s for s in workflow.states if s != workflow.initial]
    if state not in states:
        raise InvalidField("state", f"state must be one of {', '.join(states)}, not {state!r}")
    spec = workflow.states[state]
    given = {k: v for k, v in fields.items() if v not in (None, "")}
    fit = fields_that_fit(workflow, state)
    for field in given:
        if field not in fit:
            raise InvalidField(field,
                f"{field} does not fit a service that is {state}"
                + (f" (it can have {', '.join(f for f in RECORDED if f in fit)})" if fit else
                   " (it has no lifecycle dates yet)"))
    missing = [f for f in spec.extra.get("register_requires", ()) if f not in given]
    if missing:
        raise InvalidField(missing[0], f"a service that is {state} needs "
                           + " and ".join(missing))
    for field, allowed in (("reorganisation_outcome", OUTCOMES), ("continuation", CONTINUATIONS)):
        if field in given and given[field] not in allowed:
            raise InvalidField(field, f"{field} must be one of {', '.join(allowed)}, "
                               f"not {given[field]!r}")
    if ("continuation" in given) != ("continued_on" in given):
        field = "continued_on" if "continuation" in given else "continuation"
        raise InvalidField(field, "continued_on and continuation go together: the date of the "
                           "decision after the term and what it was")
    dated = [(f, given[f]) for f in DATE_FIELDS if f in given]
    for field, day in dated:
        if day > today:
            raise InvalidField(field, f"{field} {day} is after today ({today})")
        if day < EARLIEST:
            raise InvalidField(field, f"{field} {day} is before {EARLIEST}, before any national "
                               "service existed: a typing error?")

    def out_of_order(first: tuple, then: tuple) -> None:
        (f1, d1), (f2, d2) = first, then
        if _latest_day(d2, precision.get(f2)) < d1:
            shown = {f: format_partial(d, precision.get(f)) for f, d in (first, then)}
            raise InvalidField(f2, f"{f2} {shown[f2]} is before {f1} {shown[f1]}; lifecycle "
                               "dates run forward")

    chain = [(f, d) for f, d in dated if f not in UNORDERED]
    for first, then in zip(chain, chain[1:], strict=False):
        out_of_order(first, then)
    for field, day in dated:
        if field in UNORDERED:
            for other, on in chain:
                if DATE_FIELDS.index(other) < DATE_FIELDS.index(field):
                    out_of_order((other, on), (field, day))
                else:
                    out_of_order((field, day), (other, on))
    return [f"a service that is {state} should have {f}"
            + (": without it its deadlines cannot be computed" if f in DATE_FIELDS else "")
            for f in spec.extra.get("register_expects", ()) if f not in given]


@functools.lru_cache(maxsize=16)
def group_states(workflow: wf.Workflow) -> frozenset[str]:
    """The states marked reference_group: the service has a group (a proposal checks it)."""
    return frozenset(s.name for s in workflow.states.values() if s.extra.get("reference_group"))


def check_group_allowed(tx: Tx, service: Service) -> None:
    """A reference group is built from approval on (the states marked reference_group)."""
    workflow = load_workflow(tx)
    if service.state in group_states(workflow):
        return
    label = f"service {service.id} ({service.name})"
    if service.state in workflow.final_states():
        raise InvalidInput(f"{label} is {service.state}: it has no reference group any more"
                           if service.state == "phased_out" else
                           f"{label} was {service.state}: it never became a national service")
    raise InvalidInput(f"{label} is still an application ({service.state}); a reference group "
                       "is built from approval on")


# -- operations -----------------------------------------------------------------------------
def apply(tx: Tx, *, name: str, kind: str, hosts: list[str], actor: Actor,
          function: str | None = None, name_en: str | None = None,
          requested_by: str | None = None, leader_name: str | None = None,
          leader_email: str | None = None, lang: str | None = None,
          comment: str | None = None) -> engine.Fired:
    """Start the case of a new or changed service (state draft)."""
    from appointer.services import new_service

    workflow = load_workflow(tx)
    row = new_service(tx, name=name, kind=kind, hosts=hosts, function=function, name_en=name_en,
                      leader_name=leader_name, leader_email=leader_email, lang=lang,
                      state=workflow.initial, requested_by=requested_by)
    return engine.fire(tx, workflow, row, "apply", actor, comment, inputs={"comment": comment})


# option -> the requirement a transition must name for the option to mean anything
_OPTION_NEEDS = {"date": ("date",), "outcome": ("outcome", "continuation"),
                 "decision_ref": ("decision_ref",),
                 "successor_name": ("outcome",), "successor_name_en": ("outcome",),
                 "new_name": ("change",), "new_name_en": ("change",)}


def advance(tx: Tx, service_ref, trigger: str, actor: Actor, *, date: dt.date | None = None,
            comment: str | None = None, **options) -> tuple[engine.Fired, list[str]]:
    """Fire a lifecycle trigger. Returns the result and warnings (rules that say *should*)."""
    workflow = load_workflow(tx)
    service = service_record(tx.session, service_ref)
    for option in ("successor_name", "successor_name_en", "new_name", "new_name_en",
                   "decision_ref"):
        if options.get(option):
            options[option] = check_name(options[option], "--" + option.replace("_", "-"))
    given = {k: v for k, v in {"date": date, **options}.items() if v not in (None, "")}
    here = workflow.candidates(trigger, service.state)
    needs = {r for t in here for r in t.requires}
    if here:  # else the engine says what is allowed instead
        for option, requirements in _OPTION_NEEDS.items():
            if option in given and not needs.intersection(requirements):
                flag = "--" + option.replace("_", "-")
                raise InvalidInput(f"{flag} has no meaning for {trigger!r}")
    inputs = {**given, "comment": comment}
    inputs.setdefault("date", tx.clock.today())
    evidence = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in given.items()}
    pending = pending_name(tx.session, service)
    if trigger in ("approve_change", "reject_change") and pending is not None:
        evidence["name"], evidence["name_en"] = pending.name, pending.name_en
    if "decision_ref" in needs:  # the deciding body's act, recorded by the coordinator
        evidence["decided_by"] = tx.settings.deciding_body

    actor = dataclasses.replace(actor, evidence={**actor.evidence, **evidence})
    fired = engine.fire(tx, workflow, service, trigger, actor, comment, inputs=inputs)
    return fired, step_warnings(tx, service, trigger)


def step_warnings(tx: Tx, service: Service, trigger: str) -> list[str]:
    """What the rules say *should* have happened, checked after a step."""
    from appointer.deadlines import add_months, competence_term, lifecycle_rules, round_sent_on

    limits, _ = lifecycle_rules(tx.settings)
    out = []
    if trigger == "send" and service.state == "sent":  # (a change's date is in its history)
        rnd = round_sent_on(service.sent_on, tx.settings)
        if rnd.year > service.sent_on.year:
            out.append(f"sent after {rnd.send_by.replace(year=service.sent_on.year)}: the "
                       f"application belongs to round {rnd.year}")
    if trigger == "establish" and service.approved_on:
        due = add_months(service.approved_on, limits["establish_within_months"])
        if service.established_on > due:
            out.append(f"established {(service.established_on - due).days} days after the limit "
                       f"({due}: at the latest one year after approval, 002 §4.1)")
    term = competence_term(service, tx.settings)
    if trigger == "initiate_phase_out" and term is not None:
        ends = term[1]
        latest = add_months(ends, -limits["initiate_before_term_end_months"])
        if service.phase_out_initiated_on > latest:
            out.append(f"initiated less than {limits['initiate_before_term_end_months']} months "
                       f"before the term ends ({ends}); it should have started by {latest}")
    if trigger == "complete_phase_out" and service.phase_out_initiated_on:
        earliest = add_months(service.phase_out_initiated_on, limits["new_organisation_months"])
        if service.phased_out_on < earliest:
            out.append(f"completed before {earliest}: at least {limits['new_organisation_months']} "
                       "months should pass from the initiative to the change (003)")
    return out
