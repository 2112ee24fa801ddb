"""The member-appointment workflow (`workflows/appointment.toml`): its named hooks, and the
operations the CLI and the link pages call. Every change goes through `engine.fire`."""

from __future__ import annotations

import dataclasses

from sqlalchemy import bindparam
from sqlmodel import Session, select

from appointer import engine, lookups, recipients, records, terms
from appointer import workflow as wf
from appointer.clock import format_partial
from appointer.db import Tx
from appointer.engine import Actor, CaseContext, Recipient
from appointer.errors import Forbidden, InvalidInput, NotFound
from appointer.models import Appointment, Institution, Service
from appointer.records import Record
from appointer.reference import (
    check_email,
    find_coordinator,
    find_institution,
    read_service,
    service_record,
)
from appointer.seats import check_candidate_for_seat, host_regions, parse_seat, seat_of
from appointer.text import check_name, check_text, parse_id, shown

hooks = wf.Hooks()


def load_workflow(tx_or_settings) -> wf.Workflow:
    settings = getattr(tx_or_settings, "settings", tx_or_settings)
    return wf.load("appointment", settings.workflows_dir)


# -- roles ----------------------------------------------------------------------------------
def _region_name(ctx: CaseContext, code: str) -> str:
    region = lookups.region(ctx.tx.session, code)
    return f"{region.name} ({code})" if region else code


@hooks.role(describe=lambda ctx: "a registered coordinator")
def coordinator(ctx: CaseContext) -> bool:
    return ctx.actor.kind == "coordinator"


@hooks.role(describe=lambda ctx: f"a coordinator of {_region_name(ctx, ctx.case.appointing_region)} "
            f"(the region that appoints seat {ctx.case.seat})")
def appointing_coordinator(ctx: CaseContext) -> bool:
    """The region that appoints the seat; for the service's own seats of a service whose host
    is not yet known (a register import), any coordinator, as for its lifecycle."""
    if ctx.actor.kind != "coordinator":
        return False
    return ctx.actor.region == ctx.case.appointing_region or (
        not ctx.case.seat.startswith("region:") and not _service_regions(ctx))


@hooks.role(describe=lambda ctx: "a coordinator of the region where the service is ("
            + (" or ".join(sorted(_service_regions(ctx))) or "unknown") + ")")
def host_coordinator(ctx: CaseContext) -> bool:
    return ctx.actor.kind == "coordinator" and ctx.actor.region in _service_regions(ctx)


def _service_regions(ctx: CaseContext) -> set[str]:
    return {inst.region_code for _, inst in lookups.hosts(ctx.tx, ctx.case.service_id)}


_BEHALF = ("(the represented region), on behalf of the {who}, with --evidence saying how they "
           "answered (e.g. 'by phone on 12 March')")


@hooks.role(describe=lambda ctx: f"a coordinator of {_region_name(ctx, ctx.case.appointing_region)} "
            + _BEHALF.format(who="candidate"))
def for_candidate(ctx: CaseContext) -> bool:
    """A coordinator answering for the candidate: only of the represented region, and only
    with the evidence of the answer (kept in the audit)."""
    return appointing_coordinator(ctx) and bool(ctx.inputs.get("evidence"))


@hooks.role(describe=lambda ctx: f"a coordinator of {_region_name(ctx, ctx.case.appointing_region)} "
            + _BEHALF.format(who="candidate's leader"))
def for_leader(ctx: CaseContext) -> bool:
    return appointing_coordinator(ctx) and bool(ctx.inputs.get("evidence"))


@hooks.role(describe=lambda ctx: "the candidate (through the link in their email)")
def candidate(ctx: CaseContext) -> bool:
    return ctx.actor.kind == "candidate" and ctx.actor.email == ctx.case.candidate_email


@hooks.role(describe=lambda ctx: "the candidate's leader (through the link in their email)")
def leader(ctx: CaseContext) -> bool:
    return ctx.actor.kind == "leader" and ctx.actor.email == ctx.case.leader_email


# -- guards, requirements, effects ----------------------------------------------------------
@hooks.guard
def is_user_representative(ctx: CaseContext) -> bool:
    return ctx.case.seat.startswith("user:")


@hooks.requirement
def candidate_given(ctx: CaseContext) -> str | None:
    if not ctx.case.candidate_email or not ctx.case.candidate_name:
        return "a proposal needs the candidate: use `appointer member propose` with --name and --email"
    return None


hooks.inputs["candidate"] = candidate_given


@hooks.requirement
def reason(ctx: CaseContext) -> str | None:
    if not (ctx.inputs.get("reason") or "").strip():
        return ("ending an appointment needs --reason (for example 'left the position' or "
                "'long absence'); the seat then becomes vacant")
    return None


@hooks.effect
def record_appointed_on(ctx: CaseContext) -> None:
    ctx.case.appointed_on = ctx.tx.clock.today()


@hooks.effect
def record_ended_on(ctx: CaseContext) -> None:
    ctx.case.ended_on = ctx.tx.clock.today()
    ctx.case.end_reason = ctx.inputs["reason"].strip()


@hooks.effect
def vacate_group_leader(ctx: CaseContext) -> None:
    service = records.load(ctx.tx.session, Service, ctx.case.service_id)
    if service.group_leader_id == ctx.case.id:
        service.group_leader_id = None
        records.write(ctx.tx.session, service)


# -- recipient groups -----------------------------------------------------------------------
def _lang(ctx: CaseContext) -> str:
    return ctx.case.lang or ctx.tx.settings.lang


def _service_recipient(ctx: CaseContext) -> list[Recipient]:
    return recipients.service_leader(lookups.service(ctx.tx, ctx.case.service_id))


@hooks.recipient_group
def candidate_recipient(ctx: CaseContext) -> list[Recipient]:
    return [Recipient(ctx.case.candidate_email, ctx.case.candidate_name, "candidate", _lang(ctx))]


@hooks.recipient_group
def leader_recipient(ctx: CaseContext) -> list[Recipient]:
    if not ctx.case.leader_email:
        return []
    return [Recipient(ctx.case.leader_email, ctx.case.leader_name, "leader", _lang(ctx))]


hooks.recipients["candidate"] = candidate_recipient
hooks.recipients["leader"] = leader_recipient


@hooks.recipient_group
def appointing_coordinators(ctx: CaseContext) -> list[Recipient]:
    return recipients.region_coordinators(ctx.tx, ctx.case.appointing_region)


@hooks.recipient_group
def appointing_contact(ctx: CaseContext) -> list[Recipient]:
    return recipients.region_contact(ctx.tx, ctx.case.appointing_region)


@hooks.recipient_group
def appointing_region(ctx: CaseContext) -> list[Recipient]:
    return appointing_contact(ctx)


@hooks.recipient_group
def service_and_coordinators(ctx: CaseContext) -> list[Recipient]:
    return recipients.dedupe(_service_recipient(ctx) + appointing_coordinators(ctx))


@hooks.recipient_group
def service_group_and_rhfs(ctx: CaseContext) -> list[Recipient]:
    """The word of an appointment (`000` §4): the service, the reference group, the other RHFs.
    Not the new member: they get the appointment letter instead."""
    members = [
        Recipient(m.candidate_email, m.candidate_name, "member", m.lang)
        for m in lookups.appointed_members(ctx.tx, ctx.case.service_id)
        if m.id != ctx.case.id
    ]
    others = [r for code in ("sor-ost", "vest", "midt", "nord") if code != ctx.case.appointing_region
              for r in recipients.region_contact(ctx.tx, code)]
    return [r for r in recipients.dedupe(_service_recipient(ctx) + members + others)
            if r.email != ctx.case.candidate_email]


# -- what templates see -----------------------------------------------------------------------
@hooks.case_context
def context(ctx: CaseContext) -> dict:
    """What the templates see. The engine builds it once per transition and each message
    works on its own copy (outbox.enqueue)."""
    data = case_context(ctx.tx, ctx.case, actor_region=ctx.actor.region,
                        link_days=ctx.tx.settings.token_days)
    if ctx.inputs.get("evidence"):  # a coordinator answered for the candidate or the leader
        region = lookups.region(ctx.tx, ctx.actor.region)
        data["on_behalf"] = {"by": ctx.actor.name or ctx.actor.email,
                             "region": region.name if region else ctx.actor.region,
                             "evidence": ctx.inputs["evidence"],
                             "answer": ctx.inputs.get("answer")}
    return data


def case_context(session, case: Record, actor_region: str | None = None,
                 link_days: int | None = None) -> dict:
    """What the appointment templates see. `sender` is the acting region (its contact gets
    the replies), else the appointing region; `hosts` the institution(s) hosting the service
    (they pay the meeting costs, `000` §5). `session`: a session, or the unit of work (`Tx`:
    the step path, read-only look-ups on its connection)."""
    region = lookups.region(session, case.appointing_region)
    institution = lookups.institution(session, case.institution_id)
    sender = lookups.region(session, actor_region) if actor_region else None
    return {
        "case": case,
        "service": lookups.service(session, case.service_id),
        "seat_kind": case.seat.partition(":")[0],
        "region": region,
        "institution": institution,
        "represents": typed_represents(session, case),
        "hosts": [inst for _, inst in lookups.hosts(session, case.service_id)],
        "sender": sender or region,
        "link_days": link_days,
    }


# -- operations -----------------------------------------------------------------------------
def resolve_actor(session: Session, email: str | None) -> Actor:
    if not email:
        raise Forbidden("who is acting? Pass --as EMAIL or set APPOINTER_ACTOR to the email of a "
                        "registered coordinator (see `appointer coordinator list`)")
    row = find_coordinator(session, email)
    if row is not None and not row.active:
        raise Forbidden(f"{row.email} was removed as a coordinator and can no longer act; an "
                        "active coordinator can add them again if they are back")
    if row is None:
        raise Forbidden(f"{email} is not a registered coordinator; a coordinator is added with "
                        "`appointer coordinator add --email … --name … --region …`")
    return Actor(kind="coordinator", email=row.email, name=row.name, region=row.region_code,
                 admin=bool(row.admin))


def get_case(session, case_id: int | str) -> Record:
    """The appointment case with this id (a record: `engine.fire` changes it). `session`: a
    session or a unit of work's connection."""
    number = parse_id(case_id)
    row = None if number is None else records.load(session, Appointment, number)
    if row is None:
        shown_id = number if number is not None else shown(str(case_id))
        raise NotFound(f"no appointment case {shown_id}; see `appointer member list`")
    return row


_A = Appointment.__table__
_OPEN = (select(_A.c.id, _A.c.seat, _A.c.state, _A.c.candidate_email)
         .where(_A.c.service_id == bindparam("service_id"),
                _A.c.state.in_(bindparam("states", expanding=True)))
         .order_by(_A.c.id))


def open_cases(session: Session, service_id: int, workflow: wf.Workflow) -> list:
    """The cases that hold a seat of the service's group now: read-only rows (id, seat,
    state, candidate_email); `get_case` loads one to change it."""
    return list(session.connection().execute(
        _OPEN, {"service_id": service_id, "states": sorted(workflow.seat_states())}))


def _service_for_group(tx: Tx, service_ref):
    """The service (read-only) whose group gets a case. A reference group is built from
    approval on: the lifecycle file marks those states."""
    from appointer.lifecycle import check_group_allowed

    service = read_service(tx.session, service_ref)
    check_group_allowed(tx, service)
    return service


def _legacy_represents(session, case) -> str | None:
    """The Norwegian text stored as "whom the member represents" before the seat's meaning was
    rendered per language (terms.toml): such a row reads as if nothing had been typed."""
    kind = case.seat.partition(":")[0]
    if kind == "region":
        return f"spesialisthelsetjenesten i {lookups.region(session, case.appointing_region).name}"
    inst = lookups.institution(session, case.institution_id)
    if kind == "service":
        return f"tjenesten ({inst.name})" if inst else "tjenesten"
    if kind == "user":
        return "brukerne"
    return inst.name if inst else "annen aktør"


def typed_represents(session, case) -> str | None:
    """Whom the member represents where someone typed it (`--represents`); None where it is the
    seat's own meaning, which each message and page says in its language
    (`terms.represents`)."""
    text = (case.represents or "").strip() or None
    return None if text is None or text == _legacy_represents(session, case) else text


def request_member(tx: Tx, service_ref, seat_text: str, actor: Actor,
                   comment: str | None = None) -> engine.Fired:
    """The service has no candidate for a seat: ask the appointing region for one."""
    workflow = load_workflow(tx)
    session = tx.session
    service = _service_for_group(tx, service_ref)
    taken = {c.seat: c for c in open_cases(session, service.id, workflow)}
    seat = parse_seat(session, service, seat_text, set(taken))
    if seat.code in taken:
        raise InvalidInput(_seat_taken(taken[seat.code]))
    now = tx.clock.now()
    case = records.new(Appointment, service_id=service.id, seat=seat.code,
                       appointing_region=seat.appointing_region, state=workflow.initial,
                       lang=service.lang, created_at=now, state_since=now)
    return engine.fire(tx, workflow, case, "request", actor, comment)


def _seat_taken(case) -> str:
    if case.state == "appointed":
        return (f"seat {case.seat} is held by member {case.id} (appointed); one member per seat and "
                f"no deputies: end that appointment first (`appointer member advance {case.id} end "
                "--reason …`)")
    return (f"seat {case.seat} already has case {case.id} in state {case.state}; answer it or "
            f"withdraw it first (`appointer member advance {case.id} withdraw`)")


def propose_member(tx: Tx, service_ref, seat_text: str, *, name: str, email: str,
                   institution: str | None, leader_name: str | None, leader_email: str | None,
                   share: str | None, represents: str | None, actor: Actor,
                   comment: str | None = None, lang: str | None = None
                   ) -> tuple[engine.Fired, list[str]]:
    """Record the service's proposal for a seat. Returns the result and warnings (rules that
    say *should*)."""
    workflow = load_workflow(tx)
    session = tx.session
    warnings: list[str] = []
    service = _service_for_group(tx, service_ref)
    cases = open_cases(session, service.id, workflow)
    taken = {c.seat: c for c in cases}
    seat = parse_seat(session, service, seat_text, set(taken) - {
        c.seat for c in cases if c.state == "requested"})
    existing = taken.get(seat.code)
    if existing is not None and existing.state != "requested":
        raise InvalidInput(_seat_taken(existing))
    person = check_person(seat, name=name, email=email, leader_name=leader_name,
                          leader_email=leader_email, others=cases)
    name, email, leader_name, leader_email = person
    share = check_name(share, "the share of a position")
    represents = check_name(represents, "whom the member represents")
    inst = find_institution(session, institution) if institution else None
    check_candidate_for_seat(session, service, seat, inst)
    if not (share or "").strip():
        warnings.append("the appointment should state the expected share of a full position "
                        "(--share, e.g. '5 %')")
    case = get_case(session, existing.id) if existing is not None else records.new(
        Appointment, service_id=service.id, seat=seat.code,
        appointing_region=seat.appointing_region, state=workflow.initial,
        created_at=tx.clock.now(), state_since=tx.clock.now())
    case.candidate_name = name
    case.candidate_email = email
    case.institution_id = inst.id if inst else None
    case.leader_name = (leader_name or "").strip() or None
    case.leader_email = leader_email if seat.has_line_manager else None
    case.share = (share or "").strip() or None
    case.represents = (represents or "").strip() or None  # else the seat's meaning, per language
    case.lang = lang or service.lang or tx.settings.lang
    return engine.fire(tx, workflow, case, "propose", actor, comment), warnings


# The options of `member propose` / `member edit` that the person's fields come from.
FLAGS = {"name": "--name", "email": "--email", "leader_name": "--leader-name",
         "leader_email": "--leader-email"}


def person_problems(seat, *, name, email, leader_name, leader_email, others,
                    leader_required: bool = True, case_id: int | None = None,
                    names: dict[str, str] = FLAGS) -> tuple[tuple, list[tuple[str, str]]]:
    """The rules on who may hold a seat (`000` §3–4), shared by propose, edit and import:
    ((name, email, leader_name, leader_email) cleaned, [(field, problem), …]). `others`: the
    group's open cases (rows with id, seat, state, candidate_email); `case_id`: the case being
    changed, not counted as another. `leader_required`: participation must be cleared with the
    leader (a proposal); a member imported from a register may have no leader on record.
    `names`: what the input calls each field (an option, or a file's column), for messages."""
    problems: list[tuple[str, str]] = []
    try:
        name = check_name(name or "", "the candidate's name") or ""
    except InvalidInput as exc:
        problems.append(("name", str(exc)))
        name = ""
    else:
        if not name:
            problems.append(("name", f"the candidate needs a name ({names['name']})"))
    try:
        email = check_email(email, "candidate email")
    except InvalidInput as exc:
        problems.append(("email", str(exc)))
    try:
        leader_name = check_name(leader_name, "the leader's name") or None
    except InvalidInput as exc:
        problems.append(("leader_name", str(exc)))
        leader_name = None
    leader_email = (leader_email or "").strip() or None
    if seat.has_line_manager:
        if leader_required and (not leader_name or not leader_email):
            problems.append(("leader_name" if not leader_name else "leader_email",
                             "participation must be cleared with the candidate's leader: give "
                             f"{names['leader_name']} and {names['leader_email']} (core "
                             "mandate §4)"))
        if leader_email:
            try:
                leader_email = check_email(leader_email, "leader email")
            except InvalidInput as exc:
                problems.append(("leader_email", str(exc)))
            if leader_email == email:
                problems.append(("leader_email", "the candidate's leader must be another person "
                                                 "than the candidate"))
    elif leader_name or leader_email:
        problems.append(("leader_name" if leader_name else "leader_email",
                         "a user representative has no line manager to clear the "
                         f"participation; leave out {names['leader_name']} and "
                         f"{names['leader_email']}"))
    for other in others:
        if other.candidate_email == email and other.seat != seat.code and other.id != case_id:
            problems.append(("email", f"{email} is already in this group's seat {other.seat} "
                                      f"(case {other.id}, {other.state}); one person holds one "
                                      "seat"))
    return (name, email, leader_name, leader_email), problems


def check_person(seat, **values) -> tuple:
    """`person_problems` for a command: the first problem is refused."""
    person, problems = person_problems(seat, **values)
    if problems:
        raise InvalidInput(problems[0][1])
    return person


# The answers a coordinator may give on someone's behalf, and whose answer each is.
ON_BEHALF = {"accept": "candidate", "decline": "candidate", "consent": "leader",
             "refuse": "leader"}
ANSWERED_FOR = "appointment.person.answered_for"  # to the person a coordinator answered for


def advance(tx: Tx, case_id, trigger: str, actor: Actor, comment: str | None = None,
            reason: str | None = None, evidence: str | None = None) -> engine.Fired:
    """Fire `trigger`. `evidence`: a coordinator answers for the candidate or the leader
    (how they answered: 'by phone on 12 March'); kept in the audit, and the person is
    emailed that a coordinator answered for them."""
    workflow = load_workflow(tx)
    case = get_case(tx.connection, case_id)
    reason = check_text(reason, "the reason")
    evidence = (check_text(evidence, "the evidence") or "").strip() or None
    inputs = {"reason": reason} if reason else {}
    if evidence:
        if trigger not in ON_BEHALF or actor.kind != "coordinator":
            raise InvalidInput("--evidence is for a coordinator answering on behalf of the "
                               "candidate or the leader (accept, decline, consent, refuse)")
        inputs.update(evidence=evidence, answer=trigger)
        actor = dataclasses.replace(actor, evidence={
            **actor.evidence, "on_behalf_of": ON_BEHALF[trigger], "answer_evidence": evidence})
    fired = engine.fire(tx, workflow, case, trigger, actor, comment, inputs=inputs)
    if evidence:
        ctx = engine.CaseContext(fired.case, tx, workflow, actor, inputs)
        fired.outbox_ids += engine.queue_notes(
            tx, workflow, ctx, [wf.Notify(ANSWERED_FOR, ON_BEHALF[trigger])],
            fired.to_state)
    return fired


def designate_leader(tx: Tx, service_ref, member_id, actor: Actor, past: bool = False) -> Record:
    """The group leader: an appointed regional member from a region where the service is not
    located (`000` §3). `past`: a designation made before Appointer knew of the group (an
    import); a leader from the service's region is then recorded, and the group's health
    flags it, rather than refused."""
    session = tx.session
    service = service_record(session, service_ref)
    case = get_case(session, member_id)
    if case.service_id != service.id:
        raise InvalidInput(f"member {case.id} belongs to another service's group")
    if case.state != "appointed":
        raise InvalidInput(f"member {case.id} is {case.state}; only an appointed member can lead")
    if not case.seat.startswith("region:"):
        raise InvalidInput(f"member {case.id} holds seat {case.seat}; the leader is one of the "
                           "regional members")
    located = host_regions(session, service)
    if not past and located and not (actor.kind == "coordinator" and actor.region in located):
        names = " or ".join(lookups.region(session, c).name for c in sorted(located))
        raise Forbidden(f"{actor.label} may not designate the group leader of service "
                        f"{service.id}: only a coordinator of {names} (the host region), on "
                        "behalf of the host HF, may")
    if case.appointing_region in located and not past:
        allowed = [c for c in ("sor-ost", "vest", "midt", "nord") if c not in located]
        raise InvalidInput(
            f"the group leader must not belong to a region where the service is located "
            f"({', '.join(sorted(located))}); choose the member for {' or '.join(allowed)}"
        )
    before = service.group_leader_id
    service.group_leader_id = case.id
    records.write(session, service)
    from appointer import audit

    audit.record(tx, "service", service.id, "designate_leader", service.state, service.state,
                 actor, f"group leader: member {case.id} (before: {before or 'none'})")
    return service


def case_dict(session: Session, case: Record, workflow: wf.Workflow | None = None,
              tx: Tx | None = None) -> dict:
    service = session.get(Service, case.service_id)
    inst = session.get(Institution, case.institution_id) if case.institution_id else None
    out = {
        "id": case.id,
        "state": case.state,
        "service_id": case.service_id,
        "service": service.name,
        "seat": case.seat,
        "appointing_region": case.appointing_region,
        "candidate_name": case.candidate_name,
        "candidate_email": case.candidate_email,
        "institution": inst.name if inst else None,
        "leader_name": case.leader_name,
        "leader_email": case.leader_email,
        "share": case.share,
        "represents": typed_represents(session, case) or terms.represents(
            tx.settings.lang if tx else terms.DEFAULT, case.seat),
        # as far as it is known: 2018 (year), 2018-03 (month) for a member imported from a register
        "appointed_on": format_partial(case.appointed_on,
                                       (case.date_precision or {}).get("appointed_on")) or None,
        "ended_on": case.ended_on.isoformat() if case.ended_on else None,
        "end_reason": case.end_reason,
        "absent_since": case.absent_since.isoformat() if case.absent_since else None,
        "state_since": case.state_since.isoformat(),
        "note": case.note,
    }
    if workflow is not None and tx is not None:
        out["allowed"] = engine.allowed_triggers(tx, workflow, case)
    return out


__all__ = ["hooks", "request_member", "propose_member", "advance", "designate_leader",
           "seat_of"]
