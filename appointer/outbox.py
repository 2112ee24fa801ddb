"""The transactional outbox: a transition renders its messages and stores them in the same
database transaction as the state change. `appointer mail send` delivers them after commit."""

from __future__ import annotations

import uuid
from email.utils import parseaddr

from appointer.db import Tx
from appointer.mail.render import render
from appointer.models import OutboxMessage, Region


def message_id(mail_from: str) -> str:
    domain = parseaddr(mail_from)[1].partition("@")[2] or "appointer.localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


def enqueue(tx: Tx, workflow, ctx, template: str, recipient, link: str | None = None,
            dedupe_key: str | None = None, extra: dict | None = None) -> OutboxMessage:
    context = workflow.hooks.context(ctx) if workflow is not None else {}
    context.update(recipient=recipient, link=link, **(extra or {}))
    return enqueue_rendered(
        tx, template, recipient, context,
        case_type=workflow.case_type if workflow is not None else None,
        case_id=ctx.case.id if ctx is not None else None,
        reply_to=_reply_to(tx, ctx), dedupe_key=dedupe_key,
    )


def enqueue_rendered(tx: Tx, template: str, recipient, context: dict, case_type=None,
                     case_id=None, reply_to=None, dedupe_key=None,
                     flush: bool = True) -> OutboxMessage:
    """Render and add one message. `flush=False` leaves the INSERT (and the row's id) to the
    next flush, so a caller queueing many messages pays for one batched flush."""
    lang = getattr(recipient, "lang", None) or tx.settings.lang
    msg = render(tx.settings.templates_dir, template, lang, context)
    now = tx.clock.now()
    row = OutboxMessage(
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
        created_at=now,
        next_attempt_at=now,
    )
    tx.session.add(row)
    if flush:
        tx.session.flush()
    return row


def _reply_to(tx: Tx, ctx) -> str | None:
    """The acting region's contact: the acting coordinator's region, else the case's."""
    if ctx is None:
        return None
    region = ctx.actor.region or getattr(ctx.case, "appointing_region", None)
    if not region:
        return None
    row = tx.session.get(Region, region)
    return row.contact_email if row is not None else None
