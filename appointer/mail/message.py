"""An outbox row as an email: one multipart/alternative message (plain text + HTML).

Every header comes from the row, so a resend after a crash is the same message: the same
Message-ID (mail clients fold the duplicate) and the same Date (when the transaction that
caused it committed, RFC 5322 §3.6.1: when the message was complete).
"""

from __future__ import annotations

import email.policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from appointer.clock import to_oslo


class _Headers(HeaderRegistry):
    """The stdlib's registry makes a new header class with type() on every header set or
    folded (~20 per message, a quarter of the time to build one); the classes hold no state,
    so one per header name does."""

    def __init__(self):
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name):
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


_HEADERS = _Headers()
BUILD_POLICY = email.policy.default.clone(header_factory=_HEADERS)
# CRLF line ends, as SMTP wants them; headers folded at 78 and RFC 2047-encoded.
SMTP_POLICY = email.policy.SMTP.clone(header_factory=_HEADERS)


def envelope_sender(mail_from: str) -> str:
    """The bare address of the From setting (`Appointer <a@b.no>` → `a@b.no`)."""
    address = parseaddr(mail_from)[1]
    if "@" not in address:
        raise ValueError(f"the From address {mail_from!r} (APPOINTER_MAIL_FROM) has no email address")
    return address


def build_message(row, mail_from: str) -> EmailMessage:
    """`row` is an OutboxMessage, or anything with its fields."""
    msg = EmailMessage(policy=BUILD_POLICY)
    msg["Subject"] = row.subject
    msg["From"] = mail_from
    msg["To"] = ", ".join(row.to_addrs)
    if row.reply_to:
        msg["Reply-To"] = row.reply_to
    msg["Date"] = format_datetime(to_oslo(row.created_at))
    msg["Message-ID"] = row.message_id
    # Machine-sent (RFC 3834): no vacation auto-replies back to the region's contact.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["Content-Language"] = row.lang
    if getattr(row, "template", None):
        msg["X-Appointer-Template"] = row.template  # for mail-client filters and the demo
    msg.set_content(row.body_text)
    msg.add_alternative(row.body_html, subtype="html")
    return msg


def message_bytes(row, mail_from: str) -> bytes:
    return build_message(row, mail_from).as_bytes(policy=SMTP_POLICY)
