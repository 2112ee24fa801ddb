"""The transactional outbox: a transition renders its messages and stores them in the same
database transaction as the state change. `appointer mail send` delivers them after commit."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from email.utils import parseaddr

from sqlalchemy import insert

from appointer import lookups
from appointer.db import Tx
from appointer.mail.render import render
from appointer.models import OutboxMessage

# Parameters passed apart from the statement: the compiled statement is cached.
_INSERT = insert(OutboxMessage.__table__)


@dataclass(frozen=True)
class Queued:
    """What was queued (the row itself is written with a Core insert: this runs for every
    message of every transition, and an ORM object + flush costs several times more)."""

    id: int
    message_id: str
    template: str
    to_addrs: list[str]
    subject: str
    dedupe_key: str | None = None


@functools.lru_cache(maxsize=8)
def _domain(mail_from: str) -> str:
    return parseaddr(mail_from)[1].partition("@")[2] or "appointer.localhost"


def message_id(mail_from: str) -> str:
    return f"<{uuid.uuid4().hex}@{_domain(mail_from)}>"


def enqueue(tx: Tx, workflow, ctx, template: str, recipient, link: str | None = None,
            dedupe_key: str | None = None, extra: dict | None = None,
            base_context: dict | None = None) -> Queued:
    """Render `template` for `recipient` about the case in `ctx` and queue it.
    `base_context`: the workflow's case context, when the caller already has it."""
    context = dict(base_context) if base_context is not None else (
        workflow.hooks.context(ctx) if workflow is not None else {})
    context.update(recipient=recipient, link=link, **(extra or {}))
    return enqueue_rendered(
        tx, template, recipient, context,
        case_type=workflow.case_type if workflow is not None else None,
        case_id=ctx.case.id if ctx is not None else None,
        reply_to=reply_to(tx, ctx), dedupe_key=dedupe_key,
    )


def enqueue_rendered(tx: Tx, template: str, recipient, context: dict, case_type=None,
                     case_id=None, reply_to=None, dedupe_key=None) -> Queued:
    lang = getattr(recipient, "lang", None) or tx.settings.lang
    msg = render(tx.settings.templates_dir, template, lang, context)
    now = tx.clock.now()
    values = dict(
        message_id=message_id(tx.settings.mail_from),
        dedupe_key=dedupe_key,
        case_type=case_type,
        case_id=case_id,
        template=template,
        lang=lang,
        to_addrs=[recipient.email],
        reply_to=reply_to,
        subject=msg.subject,
        body_text=msg.text,
        body_html=msg.html,
        status="queued",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    result = tx.session.execute(_INSERT, values)
    return Queued(result.inserted_primary_key[0], values["message_id"], template,
                  values["to_addrs"], msg.subject, dedupe_key)


def reply_to(tx: Tx, ctx) -> str | None:
    """The acting region's contact: the acting coordinator's region, else the case's."""
    if ctx is None:
        return None
    region = ctx.actor.region or getattr(ctx.case, "appointing_region", None)
    if not region:
        return None
    row = lookups.region(tx.session, region)
    return row.contact_email if row is not None else None
