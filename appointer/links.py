"""Answering from the email: what a confirmation link shows and what its button does.

The web pages call these two functions and nothing else that changes state:

- `open_link(tx, raw)` reads: which case the link answers, for whom, and the triggers it
  offers now. It never writes (GET and HEAD, and mail scanners, change nothing).
- `answer(tx, raw, trigger, case_id, evidence)` marks the link used and fires the trigger
  through `engine.fire`, in the caller's one transaction: the state change, its audit row (the
  person who clicked, with the request's IP address and user agent as evidence of consent),
  the next emails and their fresh links commit together or not at all.

A link that cannot be used raises `LinkRefused` with a reason the page can explain, and the
case's contact addresses when the case is known. Unknown and forged links are the same
reason ("unknown"): nothing tells a guesser how close they came.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlmodel import Session, select

from appointer import engine, records
from appointer.db import Tx
from appointer.errors import AppointerError, Forbidden, NotAllowed
from appointer.models import AuditEvent, Institution, Region, Service, Token
from appointer.reference import contact_or_coordinators
from appointer.tokens import digest

# What a raw token can look like (token_urlsafe(24) is 32 characters); anything else is
# refused before the database is asked.
_RAW = re.compile(r"[A-Za-z0-9_-]{16,128}")

REASONS = ("unknown", "used", "expired", "closed", "wrong_trigger", "other_case")


class LinkRefused(AppointerError):
    """The link cannot be used for this. `reason` is one of REASONS; `link` what is known."""

    def __init__(self, reason: str, link: LinkView | None = None, answered: Answered | None = None):
        super().__init__(reason)
        self.reason = reason
        self.link = link
        self.answered = answered


@dataclass(frozen=True)
class Answered:
    """How a used link was answered (from the audit trail)."""

    trigger: str
    at: dt.datetime


@dataclass(frozen=True)
class LinkView:
    """Everything a link page shows, as plain data (no database rows leave the transaction)."""

    token_id: int
    role: str  # candidate | leader
    recipient_name: str | None
    case_type: str
    case_id: int
    state: str
    triggers: tuple[str, ...]  # what the buttons offer now
    expires_at: dt.datetime
    lang: str
    service_name: str
    service_name_en: str | None
    service_kind: str
    seat: str
    seat_kind: str  # region | service | user | other
    region_name: str  # the region that appoints (and that the member represents, for region seats)
    represents: str | None
    share: str | None
    institution: str | None
    candidate_name: str | None
    leader_name: str | None
    contacts: tuple[tuple[str, str | None], ...] = field(default=())  # (email, name)


def _cases():
    """case_type -> (row class, workflow loader). Appointments are the only case with links."""
    from appointer import appointments
    from appointer.models import Appointment

    return {"appointment": (Appointment, appointments.load_workflow)}


def aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive UTC; make it comparable with the clock."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _find(session: Session, raw: str) -> Token | None:
    if not isinstance(raw, str) or not _RAW.fullmatch(raw):
        return None
    return session.exec(select(Token).where(Token.token_hash == digest(raw))).first()


def contacts(session: Session, region_code: str) -> tuple[tuple[str, str | None], ...]:
    """Whom a recipient asks about a case: the appointing region's contact (or coordinators)."""
    return tuple((email, name) for email, name, _role in contact_or_coordinators(session, region_code))


def public_contacts(session: Session) -> tuple[tuple[str, str | None], ...]:
    """For a link we cannot place: the regions' contact addresses (functional, public ones)."""
    rows = session.exec(select(Region).where(Region.contact_email.is_not(None)).order_by(Region.name))
    return tuple((r.contact_email, r.name) for r in rows)


def _view(tx: Tx, token: Token, case, workflow, triggers) -> LinkView:
    from appointer.appointments import typed_represents

    session = tx.session
    service = session.get(Service, case.service_id)
    region = session.get(Region, case.appointing_region)
    inst = session.get(Institution, case.institution_id) if case.institution_id else None
    return LinkView(
        token_id=token.id, role=token.role, recipient_name=token.recipient_name,
        case_type=token.case_type, case_id=case.id, state=case.state, triggers=tuple(triggers),
        expires_at=aware(token.expires_at), lang=case.lang or tx.settings.lang,
        service_name=service.name, service_name_en=service.name_en, service_kind=service.kind,
        seat=case.seat, seat_kind=case.seat.partition(":")[0],
        region_name=region.name if region else case.appointing_region,
        represents=typed_represents(session, case), share=case.share,
        institution=inst.name if inst else None,
        candidate_name=case.candidate_name, leader_name=case.leader_name,
        contacts=contacts(session, case.appointing_region),
    )


def _answered(session: Session, token: Token) -> Answered | None:
    row = session.exec(
        select(AuditEvent)
        .where(AuditEvent.case_type == token.case_type, AuditEvent.case_id == token.case_id,
               AuditEvent.actor_kind == token.role, AuditEvent.actor == token.recipient_email,
               AuditEvent.from_state == token.case_state)
        .order_by(AuditEvent.id.desc())
    ).first()
    return Answered(row.trigger, aware(row.at)) if row is not None else None


def _actor(token: Token, evidence: dict | None = None) -> engine.Actor:
    return engine.Actor(kind=token.role, email=token.recipient_email, name=token.recipient_name,
                        evidence=dict(evidence or {}))


def _load(tx: Tx, raw: str, claimed: bool = False):
    """The token, its case and workflow, and the view; or LinkRefused saying why not.
    `claimed`: this transaction has just marked the token used itself."""
    token = _find(tx.session, raw)
    if token is None or token.case_type not in _cases():
        raise LinkRefused("unknown")
    row_class, load_workflow = _cases()[token.case_type]
    case = records.load(tx.session, row_class, token.case_id)
    if case is None:
        raise LinkRefused("unknown")
    workflow = load_workflow(tx)
    offered: list[str] = []
    if case.state == token.case_state:
        allowed = engine.allowed_triggers(tx, workflow, case, _actor(token))
        offered = [t for t in token.triggers if t in allowed]
    view = _view(tx, token, case, workflow, offered)
    if token.used_at is not None and not claimed:
        raise LinkRefused("used", view, _answered(tx.session, token))
    if token.revoked_at is not None or not offered:
        raise LinkRefused("closed", view, _answered(tx.session, token))
    if aware(token.expires_at) <= tx.clock.real_now():  # real time, as it was issued
        raise LinkRefused("expired", view)
    return token, case, workflow, view


def open_link(tx: Tx, raw: str) -> LinkView:
    """What the link asks, for the page. Reads only."""
    return _load(tx, raw)[3]


def answer(tx: Tx, raw: str, trigger: str, case_id, evidence: dict,
           comment: str | None = None) -> tuple[LinkView, engine.Fired]:
    """The button: mark the link used and fire `trigger` as the link's recipient.

    `case_id` is the case the page showed (the form sends it back): a link answers its own
    case only. The transaction's first statement is the conditional UPDATE that claims the
    link: a write before any read makes SQLite wait for a concurrent claim to commit (a
    read-then-write transaction would fail at once instead), and makes PostgreSQL re-check
    the row; either way the second of two concurrent submits finds the link used. Any refusal
    after the claim rolls the claim back with everything else."""
    claimed = 0
    if isinstance(raw, str) and _RAW.fullmatch(raw):
        claimed = tx.session.execute(
            update(Token)
            .where(Token.token_hash == digest(raw), Token.used_at.is_(None),
                   Token.revoked_at.is_(None))
            .values(used_at=tx.clock.now())
        ).rowcount
    if claimed != 1:
        _load(tx, raw)  # raises why: unknown, used, closed
        raise LinkRefused("used")
    token, case, workflow, view = _load(tx, raw, claimed=True)
    if str(case_id).strip() != str(case.id):
        raise LinkRefused("other_case", view)
    if trigger not in view.triggers:
        raise LinkRefused("wrong_trigger", view)
    try:
        fired = engine.fire(tx, workflow, case, trigger,
                            _actor(token, {**evidence, "token_id": token.id}),
                            comment=(comment or "").strip() or None)
    except (NotAllowed, Forbidden) as exc:  # the case or its people changed under the link
        raise LinkRefused("closed", view) from exc
    return view, fired


__all__ = ["LinkRefused", "LinkView", "Answered", "open_link", "answer", "contacts",
           "public_contacts", "REASONS"]
