"""The parts of an annual report, each with one author: saving a draft (every save a new
version, never written over someone else's), marking a part done, recording one delivered
elsewhere (eRapport), and the members' approvals.

Two tabs of one author: a save names the version it was written over (`base`); when the part
has a newer version by then, nothing is stored and the caller gets the newer text back
(`Saved.conflict`). Two authors never share a part, so they never meet. The web app runs
these in a transaction that takes SQLite's write lock first (`exclusive=True`), so two saves
of one part are checked one after the other.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlmodel import select

from appointer import audit, engine, lookups
from appointer.db import Tx
from appointer.engine import Actor
from appointer.errors import Forbidden, InvalidInput, NotFound
from appointer.models import ReportApproval, ReportPart, ReportPartVersion
from appointer.reports import (
    CASE_TYPE,
    DONE,
    PARTS,
    get_report,
    load_workflow,
    part_row,
    report_of,
)

MAX_TEXT = 20_000  # characters: "a short part" (`000` §2); a whole report is far less
WRITABLE = ("writing", "approval", "approved")


@dataclass(frozen=True)
class Saved:
    part: ReportPart
    version: ReportPartVersion | None  # what was stored (None: nothing, see conflict)
    conflict: ReportPartVersion | None = None  # the newer text a stale save ran into
    fired: engine.Fired | None = None  # the group's part done: the approval round started


def get_part(session, report, part: str) -> ReportPart:
    if part not in PARTS:
        raise InvalidInput(f"no part {part!r}; the parts are {', '.join(PARTS)}")
    row = part_row(session, report.id, part)
    if row is None:
        raise NotFound(f"report {report.id} has no part {part}")
    return row


def version(session, version_id: int | None) -> ReportPartVersion | None:
    return session.get(ReportPartVersion, version_id) if version_id else None


def versions(session, part_id: int) -> list[ReportPartVersion]:
    return list(session.exec(select(ReportPartVersion).where(ReportPartVersion.part_id == part_id)
                             .order_by(ReportPartVersion.number)))


def _check_writer(report, row: ReportPart, actor: Actor) -> None:
    if actor.kind == "coordinator":
        return
    if not row.author_email or actor.email != row.author_email:
        raise Forbidden(f"the {row.part} part of report {report.id} is written by its own "
                        "author; you may write only your own part")


def _check_open(report, row: ReportPart) -> None:
    if report.state not in WRITABLE:
        raise InvalidInput(f"report {report.id} is {report.state}: its parts can no longer change")
    if row.state in DONE:
        raise InvalidInput(f"the {row.part} part of report {report.id} is already "
                           f"{row.state.replace('_', ' ')}")


def save(tx: Tx, report_id, part: str, text: str, actor: Actor, base: int | None,
         done: bool = False, via: str = "link") -> Saved:
    """Store `text` as the part's new version (a draft), written over version `base` (None:
    the part had none); `done` marks the part done as well. A stale `base` stores nothing
    and returns the newer version as `conflict`."""
    session = tx.session
    report = get_report(session, report_id)
    row = get_part(session, report, part)
    # two saves of one part are checked one after the other: on SQLite the transaction holds
    # the write lock already; elsewhere the part's row is locked (SELECT … FOR UPDATE)
    session.refresh(row, with_for_update=True)
    _check_writer(report, row, actor)
    _check_open(report, row)
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput(f"the {part} part is empty: write its text before saving")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"the {part} part is {len(text)} characters; at most {MAX_TEXT}")
    if row.current_version_id != base:
        return Saved(row, None, conflict=version(session, row.current_version_id))
    current = version(session, base)
    stored = None
    if current is None or current.text != text:
        stored = ReportPartVersion(
            part_id=row.id, number=(current.number if current else 0) + 1, text=text,
            author_name=actor.name, author_email=actor.email, base_version_id=base, via=via,
            created_at=tx.clock.now())
        session.add(stored)
        session.flush()
        row.current_version_id = stored.id
    before = row.state
    row.state = "draft" if row.state == "invited" else row.state
    row.updated_at = tx.clock.now()
    session.add(row)
    fired = _finish(tx, report, row, actor) if done else None
    if not done and before != row.state:
        audit.record(tx, CASE_TYPE, report.id, "draft_part", report.state, report.state, actor,
                     f"part {part}: first draft")
    return Saved(row, stored, fired=fired)


def finish(tx: Tx, report_id, part: str, actor: Actor) -> Saved:
    """Mark a part done as it stands (it needs a text)."""
    report = get_report(tx.session, report_id)
    row = get_part(tx.session, report, part)
    _check_writer(report, row, actor)
    _check_open(report, row)
    if row.current_version_id is None:
        raise InvalidInput(f"the {part} part is empty: write its text before marking it done")
    return Saved(row, None, fired=_finish(tx, report, row, actor))


def delivered_elsewhere(tx: Tx, report_id, part: str, actor: Actor,
                        note: str | None = None) -> Saved:
    """The part went in through eRapport (or otherwise): Appointer only tracks that it did."""
    if actor.kind != "coordinator":
        raise Forbidden("only a coordinator records a part delivered elsewhere")
    report = get_report(tx.session, report_id)
    row = get_part(tx.session, report, part)
    _check_open(report, row)
    return Saved(row, None, fired=_finish(tx, report, row, actor, "delivered_elsewhere", note))


def _finish(tx: Tx, report, row: ReportPart, actor: Actor, state: str = "done",
            note: str | None = None) -> engine.Fired | None:
    row.state, row.done_at, row.updated_at = state, tx.clock.now(), tx.clock.now()
    tx.session.add(row)
    tx.session.flush()
    if row.part == "group" and report.state == "writing":  # the members approve next
        return engine.fire(tx, load_workflow(tx), report, "finish_group_part", actor,
                           f"part group {state.replace('_', ' ')}" + (f": {note}" if note else ""))
    audit.record(tx, CASE_TYPE, report.id, f"part_{state}", report.state, report.state, actor,
                 f"part {row.part} {state.replace('_', ' ')}" + (f": {note}" if note else ""))
    return None


def answer(tx: Tx, report_id, actor: Actor, decision: str, comment: str | None = None
           ) -> ReportApproval:
    """A member approves the report, or comments on it, while the group's approval is open."""
    session = tx.session
    report = get_report(session, report_id)
    if report.state != "approval":
        raise InvalidInput(f"report {report.id} is {report.state}: the members approve it while "
                           "the group's approval is open")
    member = next((m for m in lookups.appointed_members(session, report.service_id)
                   if m.candidate_email == actor.email), None)
    if member is None:
        raise Forbidden("only an appointed member of the group approves its report")
    comment = (comment or "").strip() or None
    if decision not in ("approve", "comment"):
        raise InvalidInput("answer approve or comment")
    if decision == "comment" and not comment:
        raise InvalidInput("a comment needs its text")
    row = ReportApproval(report_id=report.id, member_id=member.id, name=member.candidate_name,
                         email=actor.email, decision=decision, comment=comment,
                         created_at=tx.clock.now())
    session.add(row)
    session.flush()
    audit.record(tx, CASE_TYPE, report.id, f"member_{decision}", report.state, report.state,
                 dataclasses.replace(actor, name=member.candidate_name), comment)
    return row


__all__ = ["Saved", "save", "finish", "delivered_elsewhere", "answer", "get_part", "versions",
           "version", "report_of"]
