"""An outbox row as an email: one multipart/alternative message (plain text + HTML).

Every header comes from the row, so a resend after a crash is the same message: the same
Message-ID (mail clients fold the duplicate) and the same Date (when the transaction that
caused it committed, RFC 5322 §3.6.1: when the message was complete).
"""

from __future__ import annotations

import email.policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from appointer.clock import to_oslo

BUILD_POLICY = email.policy.default
# CRLF line ends, as SMTP wants them; headers folded at 78 and RFC 2047-encoded.
SMTP_POLICY = email.policy.SMTP
# The same with UTF-8 headers (RFC 6532): for a message sent with SMTPUTF8, whose addresses
# have a non-ASCII local part, which no encoding can put in an ASCII header.
SMTPUTF8_POLICY = email.policy.SMTPUTF8


def wire_address(address: str) -> str:
    """An address as it goes on the wire: its domain in IDNA (ASCII) form. Addresses are
    stored so (`reference.check_email`); a row queued before that may not be."""
    local, at, domain = address.rpartition("@")
    if domain.isascii():
        return address
    import idna

    try:
        return f"{local}{at}{idna.encode(domain, uts46=True).decode('ascii')}"
    except idna.IDNAError as exc:
        raise ValueError(f"the domain of {address!r} has no IDNA form: {exc}") from None


def envelope(row) -> tuple[list[str], bool]:
    """The recipients as sent (IDNA domains), and whether the message needs SMTPUTF8: an
    address in it (To, Reply-To) has a non-ASCII local part (`øystein@unn.no`)."""
    recipients = [wire_address(a) for a in row.to_addrs]
    local_parts = [a.rpartition("@")[0] for a in [*recipients, row.reply_to or ""]]
    return recipients, not all(p.isascii() for p in local_parts)


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
    msg["To"] = ", ".join(wire_address(a) for a in row.to_addrs)
    if row.reply_to:
        msg["Reply-To"] = wire_address(row.reply_to)
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
    """The message as sent: with UTF-8 headers when `envelope` says it needs SMTPUTF8."""
    policy = SMTPUTF8_POLICY if envelope(row)[1] else SMTP_POLICY
    return build_message(row, mail_from).as_bytes(policy=policy)
