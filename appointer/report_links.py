"""The annual report's link pages: a person's own page, not a one-use answer.

- `author`: the parts this person writes (save drafts as often as they like, mark done);
- `member`: approve the finished report or comment on it (the group leader also closes the
  approval there);
- `submitter`: submit the approved report.

A link is a `Token` row (only the SHA-256 of the random token is stored) bound to the report,
the person and the page; it is not used up by a save, and it works until the cycle's
feedback date or `token_days`, whichever is later. What the person may do is checked again
on every request against the report as it stands (`report_parts`, `reports`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlmodel import select

from appointer import tokens
from appointer.db import Tx
from appointer.links import LinkRefused, aware
from appointer.models import Token
from appointer.reports import CASE_TYPE, deadlines, get_report

PAGES = ("author", "member", "submitter")
_OPEN_STATES = {"author": ("writing", "approval", "approved"), "member": ("approval",),
                "submitter": ("approved",)}


def issue(tx: Tx, report, recipient, page: str, items: list[str]) -> str:
    """A new link for `recipient` to `page` of `report`; `items` are the parts (author) or
    the actions it offers."""
    row, _url = tokens.prepare(tx, CASE_TYPE, report.id, dataclasses.replace(recipient, role=page),
                               items, report.state)
    until = deadlines(tx.settings, report.year)["feedback"]
    end = dt.datetime.combine(until, dt.time(23, 59), tzinfo=dt.UTC)
    row["expires_at"] = max(row["expires_at"], end)
    tokens.store(tx, [row])
    raw = _url.rsplit("/", 1)[1]
    return f"{tx.settings.base_url.rstrip('/')}/r/{raw}"


@dataclass(frozen=True)
class ReportLink:
    token_id: int
    page: str
    email: str
    name: str | None
    report_id: int
    items: tuple[str, ...]
    open: bool  # whether the page still acts (else it shows the report as it stands)


def resolve(tx: Tx, raw: str) -> ReportLink:
    """Whose page this is; LinkRefused("unknown" | "expired") when it is none."""
    token = None
    if isinstance(raw, str) and 16 <= len(raw) <= 128:
        token = tx.session.exec(select(Token).where(Token.token_hash == tokens.digest(raw),
                                                    Token.case_type == CASE_TYPE)).first()
    if token is None or token.role not in PAGES:
        raise LinkRefused("unknown")
    if token.revoked_at is not None:
        raise LinkRefused("closed")
    if aware(token.expires_at) <= tx.clock.now():
        raise LinkRefused("expired")
    report = get_report(tx.session, token.case_id)
    return ReportLink(token.id, token.role, token.recipient_email, token.recipient_name,
                      report.id, tuple(token.triggers), report.state in _OPEN_STATES[token.role])


def actor(link: ReportLink, evidence: dict):
    from appointer.engine import Actor

    return Actor(kind=link.page if link.page != "author" else "author", email=link.email,
                 name=link.name, evidence={**evidence, "token_id": link.token_id})


def lang(tx: Tx, link: ReportLink) -> str:
    """The report's language (the page's default, before the browser's wish)."""
    return get_report(tx.session, link.report_id).lang or tx.settings.lang
