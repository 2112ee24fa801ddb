"""`appointer member import FILE.csv`: register the members reference groups already have,
all or nothing.

The file is read like `service import`'s (`service_import.read_rows`: a header row, comma or
semicolon separators, UTF-8 with or without a byte-order mark). Columns:

  service        required: the service's id or exact name
  seat           required: region:CODE | service | service:1 / service:2 | user[:N] | other[:N]
  name, email    required: the member
  appointed_on   required: YYYY-MM-DD, or YYYY-MM / YYYY where that is all that is known
  institution    where the member works (required for regional and service seats)
  share          the expected share of a full position ("5 %")
  leader_name, leader_email   the member's line manager, where known
  lang           nb | en: the language of the member's emails
  group_leader   yes / no (ja / nei): the member leads the group
  note           the register's own remark, stored on the case

Each row becomes a case directly in `appointed`, written through `records.write` with an
audit row (trigger "import", the file and line, the coordinator who ran it). Nothing is
emailed and no link is issued: these appointments were made before Appointer knew of them.

A row that cannot be what it says (an unknown service, seat or institution, a bad address,
an impossible or future date, a seat twice, a seat already held) rejects the whole file, and
every error of every row is listed with its line and column. The composition rules of the
core mandate (`000` §3) that a past appointment broke are warnings, listed per group: the
appointment was made, and the group's health shows what to mend.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from appointer import appointments, audit, engine, groups, records
from appointer.clock import DAY, parse_partial_date
from appointer.db import Tx
from appointer.errors import AppointerError, InvalidInput
from appointer.models import Appointment
from appointer.reference import find_institution, read_service
from appointer.seats import Seat, check_candidate_for_seat, parse_seat
from appointer.service_import import read_rows

REQUIRED = ("service", "seat", "name", "email", "appointed_on")
COLUMNS = (*REQUIRED, "institution", "share", "leader_name", "leader_email", "lang",
           "group_leader", "note")
YES, NO = {"yes", "ja", "y", "j", "true", "1"}, {"no", "nei", "n", "false", "0", ""}
# the file's words for the person's fields, in the shared rules' messages
_NAMES = {"name": "name", "email": "email", "leader_name": "leader_name",
          "leader_email": "leader_email"}
# Group problems that are rules of the past: warned about after an import (vacant seats and
# a missing leader are not: they are reminded as usual from now on).
_PAST_RULES = ("leader_in_host_region", "region_twice")


@dataclass
class MemberImport:
    source: str
    dry_run: bool
    rows: int = 0
    added: list[dict] = field(default_factory=list)  # line, id, state, service_id, seat, name
    errors: list[dict] = field(default_factory=list)  # line, column, reason
    warnings: list[dict] = field(default_factory=list)  # service_id, service, line, warning

    @property
    def stored(self) -> bool:
        return not self.errors and not self.dry_run

    def as_dict(self) -> dict:
        state = "rejected" if self.errors else ("checked" if self.dry_run else "imported")
        return {"id": self.source, "state": state, "rows": self.rows, "dry_run": self.dry_run,
                "stored": self.stored, "added": self.added, "errors": self.errors,
                "warnings": self.warnings}


@dataclass
class _Row:
    line: int
    service: object
    seat: object
    institution: object
    person: tuple  # name, email, leader_name, leader_email
    appointed_on: object
    precision: str
    values: dict  # share, lang, note
    leads: bool


def _flagless(message: str) -> str:
    """A shared rule's message names the command's option (--institution); a file has columns."""
    return re.sub(r"--([a-z]+(?:-[a-z]+)*)", lambda m: m[1].replace("-", "_"), message)


def _check(errors: list, column: str, fn, *args):
    """fn(*args), or None with its refusal noted against `column`."""
    try:
        return fn(*args)
    except (AppointerError, ValueError) as exc:
        errors.append((column, _flagless(str(exc))))
        return None


def import_members(tx: Tx, text: str, *, source: str = "", dry_run: bool = False,
                   actor=None) -> MemberImport:
    """Check every row; store them all, or (an error, or a dry run) roll back and store none."""
    session = tx.session
    workflow = appointments.load_workflow(tx)
    report = MemberImport(source=source, dry_run=dry_run)
    _, rows = read_rows(text, COLUMNS, REQUIRED, "member import")
    report.rows = len(rows)
    staged: list[_Row] = []
    open_seats: dict[int, dict[str, object]] = {}  # service id -> seat -> open case
    in_file: dict[int, dict[str, int]] = {}  # service id -> seat -> line
    people: dict[int, list] = {}  # service id -> the group's people (open cases and the file's)
    leader_line: dict[int, int] = {}
    for line, row in rows:
        errors: list[tuple[str, str]] = []
        check = functools.partial(_check, errors)
        service = check("service", _service, tx, row["service"])
        seat = None
        if service is not None:
            if service.id not in open_seats:
                cases = appointments.open_cases(session, service.id, workflow)
                open_seats[service.id] = {c.seat: c for c in cases}
                people[service.id] = list(cases)
            taken = set(open_seats[service.id]) | set(in_file.get(service.id, {}))
            seat = check("seat", parse_seat, session, service, row["seat"], taken)
        institution = (check("institution", find_institution, session, row["institution"])
                       if row.get("institution") else None)
        appointed = check("appointed_on", parse_partial_date, row["appointed_on"])
        if appointed and appointed[0] > tx.clock.today():
            errors.append(("appointed_on", f"{row['appointed_on']} is in the future; import "
                                           "members already appointed"))
        lang = row.get("lang") or ""
        if lang not in ("", "nb", "en"):
            errors.append(("lang", f"{lang!r}: use nb or en"))
        leads = (row.get("group_leader") or "").lower()
        if leads not in YES | NO:
            errors.append(("group_leader", f"{row['group_leader']!r}: use yes or no"))
        person = (row["name"], row["email"], row.get("leader_name"), row.get("leader_email"))
        if seat is None:  # the person's own columns are still checked
            errors += appointments.person_problems(
                _UNKNOWN_SEAT, name=row["name"], email=row["email"], leader_name=None,
                leader_email=row.get("leader_email"), others=[], leader_required=False,
                names=_NAMES)[1]
        else:
            refusal = _who_may_register(tx, workflow, service, seat, actor)
            if refusal:
                errors.append(("seat", refusal))
            earlier = in_file.setdefault(service.id, {})
            if seat.code in earlier:
                errors.append(("seat", f"seat {seat.code} of service {service.id} is also on "
                                       f"line {earlier[seat.code]}: one member per seat"))
            elif seat.code in open_seats[service.id]:
                errors.append(("seat", appointments._seat_taken(open_seats[service.id][seat.code])))
            earlier.setdefault(seat.code, line)
            person, problems = appointments.person_problems(
                seat, name=row["name"], email=row["email"], leader_name=row.get("leader_name"),
                leader_email=row.get("leader_email"), others=people[service.id],
                leader_required=False, names=_NAMES)
            errors += problems
            people[service.id].append(_Other(-line, seat.code, "appointed", person[1]))
            if leads in YES:
                if seat.kind != "region":
                    errors.append(("group_leader", f"seat {seat.code}: the group leader is one "
                                                   "of the regional members"))
                elif service.id in leader_line:
                    errors.append(("group_leader", f"service {service.id} has its group leader "
                                                   f"on line {leader_line[service.id]} already"))
                leader_line.setdefault(service.id, line)
            if institution is not None or seat.kind in ("region", "service"):
                try:
                    check_candidate_for_seat(session, service, seat, institution)
                except InvalidInput as exc:
                    report.warnings.append(_warning(service, line, _flagless(str(exc))))
        report.errors += [{"line": line, "column": c, "reason": r} for c, r in errors]
        if not errors:
            staged.append(_Row(line, service, seat, institution, person, appointed[0],
                               appointed[1], {"share": row.get("share") or None,
                                              "lang": lang or None,
                                              "note": row.get("note") or None},
                               leads in YES))
    if report.errors:
        session.rollback()
        return report
    _store(tx, staged, report, source, actor)
    _past_rules(tx, workflow, {r.service.id for r in staged}, report)
    if dry_run:
        session.rollback()
    else:
        session.flush()
    return report


# A row whose service or seat is unknown: its person is checked against no seat's rules.
_UNKNOWN_SEAT = Seat("?", "unknown", "", False)


@dataclass(frozen=True)
class _Other:
    """A person of the file, among the group's people (the one-seat-per-person rule)."""

    id: int
    seat: str
    state: str
    candidate_email: str | None


def _who_may_register(tx: Tx, workflow, service, seat: Seat, actor) -> str | None:
    """Who may appoint a seat may register the member it already has (the workflow's
    `appoint`: the represented region's coordinators for a regional seat, the host region's
    for the service's own); an admin may register any seat's, for the take-over of a whole
    register. None, or the refusal."""
    if actor.admin:
        return None
    spec = next(t for t in workflow.transitions if t.trigger == "appoint")
    case = records.new(Appointment, service_id=service.id, seat=seat.code,
                       appointing_region=seat.appointing_region, state=spec.source[0])
    who = engine.who_may(workflow, spec, engine.CaseContext(case, tx, workflow, actor, {}))
    return None if who is None else f"only {who}, or an admin, may register its member"


def _service(tx: Tx, ref: str):
    from appointer.lifecycle import check_group_allowed

    service = read_service(tx.session, ref)
    check_group_allowed(tx, service)
    return service


def _warning(service, line: int | None, text: str) -> dict:
    return {"service_id": service.id, "service": service.name, "line": line, "warning": text}


def _store(tx: Tx, staged: list[_Row], report: MemberImport, source: str, actor) -> None:
    """Each row as a case in `appointed`, with its audit row; then the group leaders."""
    session, now = tx.session, tx.clock.now()
    leaders = []
    for r in staged:
        name, email, leader_name, leader_email = r.person
        case = records.new(
            Appointment, service_id=r.service.id, seat=r.seat.code,
            appointing_region=r.seat.appointing_region, state="appointed",
            candidate_name=name, candidate_email=email,
            institution_id=r.institution.id if r.institution else None,
            leader_name=leader_name, leader_email=leader_email, share=r.values["share"],
            represents=None,  # the seat's meaning, said in each message's language
            lang=r.values["lang"] or r.service.lang or tx.settings.lang,
            appointed_on=r.appointed_on, note=r.values["note"],
            date_precision={} if r.precision == DAY else {"appointed_on": r.precision},
            created_at=now, state_since=now)
        records.write(session, case)
        audit.record(tx, "appointment", case.id, "import", None, "appointed", actor,
                     f"imported from {source or 'a file'}, line {r.line}")
        report.added.append({"line": r.line, "id": case.id, "state": case.state,
                             "service_id": r.service.id, "seat": r.seat.code, "name": name})
        if r.leads:
            leaders.append((r.service.id, case.id))
    for service_id, case_id in leaders:
        appointments.designate_leader(tx, service_id, case_id, actor, past=True)


def _past_rules(tx: Tx, workflow, service_ids: set[int], report: MemberImport) -> None:
    """The composition rules the imported groups break (one member per region, the leader's
    region), as warnings per group."""
    from appointer.models import Service

    tx.session.expire_all()  # the group leaders were just written (as records)
    services = [tx.session.get(Service, sid) for sid in sorted(service_ids)]
    reg = groups.Register(tx.session, workflow.seat_states(), tx.clock.today(), services=services)
    for facts in reg.facts.values():
        for p in groups.problems(reg, facts, None):
            if p.rule.startswith(_PAST_RULES):
                report.warnings.append(_warning(facts.service, None, p.message))
