"""The one path every change of state takes, whoever asks (CLI, link page, cron):

  check the trigger is allowed here → check who may fire it → check its inputs →
  fire the `transitions` machine (guards pick the branch) → run the named effects →
  audit row → revoke the case's open links → queue its emails (with fresh links)

all inside the caller's `Tx`, so it commits together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from transitions.core import MachineError

from appointer import audit, records, tokens
from appointer.db import Tx
from appointer.errors import Forbidden, InvalidInput, NotAllowed
from appointer.workflow import TransitionSpec, Workflow


@dataclass(frozen=True)
class Actor:
    """Who acts. A coordinator (from --as / APPOINTER_ACTOR), a recipient of a link
    (candidate, leader), or the system (cron)."""

    kind: str  # coordinator | candidate | leader | system
    email: str | None = None
    name: str | None = None
    region: str | None = None
    evidence: dict = field(default_factory=dict)
    admin: bool = False  # may change reference data (reference.require_admin)

    @property
    def label(self) -> str:
        if self.kind == "coordinator":
            return self.email or "coordinator"
        return self.kind


SYSTEM = Actor(kind="system")


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str | None = None
    role: str = ""  # candidate | leader | coordinator | contact | service | member
    lang: str = "nb"


class CaseContext:
    """What guards, effects, roles and recipient groups see: the case (a `records.Record`),
    the unit of work, who acts and the trigger's inputs. Also the `transitions` model: it
    proxies `state`."""

    def __init__(self, case: Any, tx: Tx, workflow: Workflow, actor: Actor, inputs: dict):
        self.case = case
        self.tx = tx
        self.workflow = workflow
        self.actor = actor
        self.inputs = inputs
        self.taken: int | None = None

    @property
    def state(self) -> str:
        return self.case.state

    @state.setter
    def state(self, value: str) -> None:
        self.case.state = value


@dataclass
class Fired:
    case: Any
    trigger: str
    from_state: str | None
    to_state: str
    audit_id: int
    outbox_ids: list[int]


def allowed_triggers(tx: Tx, workflow: Workflow, case, actor: Actor | None = None) -> list[str]:
    """Triggers that could fire now (guards pass; and, given an actor, that actor may)."""
    ctx = CaseContext(case, tx, workflow, actor or Actor(kind="system"), {})
    out: list[str] = []
    for t in workflow.transitions:
        if case.state in t.source and t.trigger not in out and workflow.passes(t, ctx):
            if actor is None or _may(workflow, t, ctx):
                out.append(t.trigger)
    return out


def _may(workflow: Workflow, spec: TransitionSpec, ctx: CaseContext) -> bool:
    return any(workflow.hooks.roles[r][0](ctx) for r in spec.who)


def who_may(workflow: Workflow, spec: TransitionSpec, ctx: CaseContext) -> str | None:
    """None if the actor of `ctx` may fire `spec` on its case; else who may, in words (the
    roles of the workflow file's `who`)."""
    if _may(workflow, spec, ctx):
        return None
    return "; or ".join(workflow.hooks.roles[r][1](ctx) for r in spec.who)


def fire(
    tx: Tx,
    workflow: Workflow,
    case,
    trigger: str,
    actor: Actor,
    comment: str | None = None,
    inputs: dict | None = None,
) -> Fired:
    if not isinstance(case, records.Record):  # an ORM object would be written twice
        raise TypeError(f"engine.fire takes a case record (records.load or records.new), "
                        f"not {type(case).__name__}")
    inputs = dict(inputs or {})
    ctx = CaseContext(case, tx, workflow, actor, inputs)
    state = case.state
    if trigger not in workflow.triggers:
        raise NotAllowed(
            f"{trigger!r} is not a trigger of the {workflow.name} workflow "
            f"(its triggers: {', '.join(workflow.triggers)})",
            allowed_triggers(tx, workflow, case),
        )
    here = [t for t in workflow.candidates(trigger, state) if workflow.passes(t, ctx)]
    if not here:
        allowed = allowed_triggers(tx, workflow, case)
        label = _label(workflow, case)
        raise NotAllowed(
            f"{label} is {state}: {trigger!r} is not allowed now; "
            + (f"allowed: {', '.join(allowed)}" if allowed else "nothing can happen to it any more"),
            allowed,
        )
    spec = here[0]
    who = who_may(workflow, spec, ctx)
    if who is not None:
        raise Forbidden(f"{actor.label} may not {trigger} {_label(workflow, case)}: only {who} may")
    for requirement in spec.requires:
        problem = workflow.hooks.inputs[requirement](ctx)
        if problem:
            raise InvalidInput(problem)

    try:
        ok = workflow.machine.events[trigger].trigger(ctx)
    except MachineError as exc:  # the checks above make this unreachable; keep it loud
        raise NotAllowed(str(exc)) from exc
    if not ok or ctx.taken is None:
        raise NotAllowed(f"{trigger!r}: the conditions for it do not hold now")
    spec = workflow.transitions[ctx.taken]
    now = tx.clock.now()
    case.state_since = now
    for name in spec.effects:
        workflow.hooks.effects[name](ctx)

    records.write(tx.connection, case)  # the id, and the version check, before anything refers to it

    from_state = None if state == workflow.initial else state
    # what the audit row needs of the trail, and (no query where no mail can wait) whether
    # mail written for the state the case leaves is still unsent: one statement
    leaves_mail = state in workflow.mail_states and spec.dest != state
    before = audit.read_before(tx, workflow.case_type, case.id,
                               mail_left_in=state if leaves_mail else None)
    cancelled = _cancel_unsent(tx, workflow, case, state, trigger) if before.mail_waiting else None
    audit_id = audit.record(tx, workflow.case_type, case.id, trigger, from_state, spec.dest,
                            actor, comment, extra=cancelled, before=before)
    if state in workflow.link_states:  # links are only ever issued for these states
        tokens.revoke_open(tx, workflow.case_type, case.id)
    outbox_ids = queue_notes(tx, workflow, ctx, spec.notify, spec.dest) if spec.notify else []
    return Fired(case, trigger, from_state, spec.dest, audit_id, outbox_ids)


def _cancel_unsent(tx: Tx, workflow: Workflow, case, state: str, trigger: str) -> dict | None:
    """The case leaves `state`: its unsent mail written for that state no longer applies.
    What was cancelled goes into the transition's audit evidence (so `member history` shows
    it)."""
    from appointer import outbox

    rows = outbox.cancel_unsent(tx, workflow.case_type, case.id, state,
                                f"cancelled: the case left {state} ({trigger})")
    return {"cancelled_mail": [[i, template] for i, template in rows]} if rows else None


def queue_notes(tx: Tx, workflow: Workflow, ctx: CaseContext, notes, state: str) -> list[int]:
    """Queue the messages `notes` declare for the case in `state`, with fresh links where a
    note gives some. Also how a corrected address gets the message it missed
    (appointer/corrections.py). The case's context is built once; a note to many people
    without links is rendered once (`render_for`), and the phrases the notes' templates share
    are worked out once; the messages and the links are stored with one statement each."""
    from appointer import outbox  # (imports the mail templates' Jinja2 environment)

    base = workflow.hooks.context(ctx)
    where = dict(case_type=workflow.case_type, case_id=ctx.case.id,
                 reply_to=outbox.reply_to(tx, ctx), case_state=state, memo={})
    rows, links = [], []
    for note in notes:
        people = workflow.hooks.recipients[note.to](ctx)
        if not (note.links or note.page):
            rows += outbox.render_rows(tx, note.template, people, {**base, "link": None},
                                       **where)
            continue
        for recipient in people:  # each with a link of their own
            if note.links:
                token, link = tokens.prepare(tx, workflow.case_type, ctx.case.id, recipient,
                                             note.links, case_state=state)
                links.append(token)
            else:
                link = workflow.hooks.pages[note.page](ctx, recipient)
            rows += outbox.render_rows(tx, note.template, [recipient], {**base, "link": link},
                                       **where)
    tokens.store(tx, links)
    return [queued.id for queued in outbox.insert_rows(tx, rows)]


def _label(workflow: Workflow, case) -> str:
    noun = "case" if workflow.case_type == "appointment" else workflow.case_type
    return f"{noun} {case.id}" if case.id is not None else f"the new {noun}"
