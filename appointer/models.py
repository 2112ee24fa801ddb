"""The database tables (SQLModel). Importing this module is slow (SQLModel and SQLAlchemy's
ORM): CLI code imports it inside command bodies, never at module level.

Conventions
- A case (an appointment, a service's lifecycle) keeps its workflow position in `state`
  (a VARCHAR checked against the workflow file, not a database enum) and an optimistic-lock
  counter `version_id`: a write based on a stale read raises, it never overwrites.
- Timestamps (`*_at`) are aware UTC; calendar dates (`*_on`) are Europe/Oslo dates.
- Personal data (names, emails) lives in these rows and in rendered outbox messages only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Column, Index, Integer, UniqueConstraint
from sqlalchemy.ext.mutable import MutableDict, MutableList
from sqlmodel import Field, SQLModel

SERVICE_KINDS = ("national", "multiregional", "competence", "centre", "network")
TREATMENT_KINDS = ("national", "multiregional")
FUNCTIONS = ("training", "competence_building")
# What a register may call each kind: the official Norwegian labels (002 ch. 2) and English
# ones, matched ignoring case (`services.parse_kind`). One table for `service add` and import.
SERVICE_KIND_LABELS = {
    "national": ("nasjonal behandlingstjeneste", "national treatment service"),
    "multiregional": ("flerregional behandlingstjeneste", "multiregional treatment service"),
    "competence": ("nasjonal kompetansetjeneste", "national competence service"),
    "centre": ("nasjonalt senter", "national centre", "national center"),
    "network": ("nasjonalt kvalitets- og kompetansenettverk",
                "national quality and competence network"),
}
# `continue` --outcome: what was decided for a competence service after its term (002 §4.1)
CONTINUATIONS = ("new_term", "centre", "network", "other")


class Region(SQLModel, table=True):
    code: str = Field(primary_key=True)  # sor-ost, vest, midt, nord
    name: str = Field(unique=True)
    orgnr: str | None = None
    contact_email: str | None = None  # the region's service-environment contact address


class Institution(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    kind: str  # hf | private_nonprofit | other
    region_code: str = Field(foreign_key="region.code", index=True)
    orgnr: str | None = Field(default=None, unique=True)


class InstitutionAlias(SQLModel, table=True):
    """Another name an institution goes by (OUS, UNN, St. Olav): the resolver finds the
    institution by it (`reference.find_institution`)."""

    id: int | None = Field(default=None, primary_key=True)
    alias: str = Field(unique=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)


class Coordinator(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True)
    name: str
    region_code: str = Field(foreign_key="region.code", index=True)
    active: bool = True
    # may manage coordinators, regions' contacts and institutions (issue 12)
    admin: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # the operating-system account that proves this coordinator in `identity = "os"` mode
    login: str | None = Field(default=None, unique=True)


_service_version = Column("version_id", Integer, nullable=False, default=1)


class Service(SQLModel, table=True):
    """A national service (or centre, network) and its lifecycle case."""

    __mapper_args__ = {"version_id_col": _service_version}

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    name_en: str | None = None
    kind: str  # one of SERVICE_KINDS
    function: str | None = None  # competence services: training | competence_building
    leader_name: str | None = None
    leader_email: str | None = None
    state: str = Field(default="established", index=True)
    version_id: int = Field(default=1, sa_column=_service_version)
    lang: str = "nb"
    group_leader_id: int | None = None  # an Appointment id (no FK: it would make a cycle)
    requested_by: str | None = None
    # lifecycle dates (Oslo calendar dates)
    submitted_on: dt.date | None = None
    prioritised_on: dt.date | None = None
    sent_on: dt.date | None = None
    approved_on: dt.date | None = None
    rejected_on: dt.date | None = None
    established_on: dt.date | None = None
    last_evaluated_on: dt.date | None = None
    phase_out_initiated_on: dt.date | None = None
    reorganisation_decided_on: dt.date | None = None
    reorganisation_outcome: str | None = None
    phased_out_on: dt.date | None = None
    # competence services: the decision after a term (`continue`): its date and CONTINUATIONS
    continued_on: dt.date | None = None
    continuation: str | None = None
    # a change of name or content in the round: the date of its last step (requested,
    # submitted, prioritised, sent); its round counts from it (deadlines.application_round)
    change_step_on: dt.date | None = None
    note: str | None = None  # the register's own remark or source, as given
    # fields known only to the year or month: {field: "year" | "month"} (see clock.py)
    date_precision: dict = Field(default_factory=dict,
                                 sa_column=Column(MutableDict.as_mutable(JSON)))
    # who submits the service's annual report (default: its leader); see reports.py
    report_submitter_name: str | None = None
    report_submitter_email: str | None = None
    created_at: dt.datetime
    state_since: dt.datetime


class ServiceHost(SQLModel, table=True):
    """The institution(s) hosting a service: one, or two (multiregional) with position 1 and 2."""

    service_id: int = Field(foreign_key="service.id", primary_key=True)
    position: int = Field(primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)


class ServicePredecessor(SQLModel, table=True):
    """A service continues another (a centre after a competence service), or several (a
    merger)."""

    service_id: int = Field(foreign_key="service.id", primary_key=True)
    predecessor_id: int = Field(foreign_key="service.id", primary_key=True, index=True)


class ServiceName(SQLModel, table=True):
    """History of a service's approved Norwegian and English names."""

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="service.id", index=True)
    name: str
    name_en: str | None = None
    valid_from: dt.date
    approved: bool = True


class ServiceVolume(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("service_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="service.id", index=True)
    year: int
    patients: int


_appointment_version = Column("version_id", Integer, nullable=False, default=1)


class Appointment(SQLModel, table=True):
    """One case of the member-appointment workflow: a seat of a service's reference group."""

    __mapper_args__ = {"version_id_col": _appointment_version}
    # a group's cases are read by service and state (its appointed members, its open seats)
    __table_args__ = (Index("ix_appointment_service_state", "service_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="service.id")
    seat: str = Field(index=True)  # region:vest | service | service:2 | user:1 | other:1
    appointing_region: str = Field(foreign_key="region.code", index=True)
    state: str  # (no index of its own: every step rewrites it; see migration 0012)
    version_id: int = Field(default=1, sa_column=_appointment_version)
    candidate_name: str | None = None
    candidate_email: str | None = None
    institution_id: int | None = Field(default=None, foreign_key="institution.id")
    leader_name: str | None = None
    leader_email: str | None = None
    share: str | None = None  # expected share of a full position, as written ("5 %")
    represents: str | None = None  # whom the member represents, as stated in the letter
    lang: str = "nb"
    appointed_on: dt.date | None = None
    ended_on: dt.date | None = None
    end_reason: str | None = None
    absent_since: dt.date | None = None
    note: str | None = None
    date_precision: dict = Field(default_factory=dict,
                                 sa_column=Column(MutableDict.as_mutable(JSON)))
    created_at: dt.datetime
    state_since: dt.datetime


class AuditEvent(SQLModel, table=True):
    """Who did what to which case, when; written in the same transaction as the change."""

    # a case's rows are found by (case_type, case_id): a lone case_type index leads SQLite's
    # planner to scan every row of that type
    __table_args__ = (Index("ix_auditevent_case", "case_type", "case_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_type: str  # appointment | service | annual_report | coordinator | region
    case_id: int  # (found with case_type: ix_auditevent_case)
    at: dt.datetime  # the effective moment: the day the step counts as done on (--today)
    recorded_at: dt.datetime | None = None  # the real moment it was written (clock.py)
    actor: str  # a coordinator's email, or "candidate"/"leader" of the case, or "system"
    actor_kind: str  # coordinator | candidate | leader | system
    trigger: str
    from_state: str | None = None
    to_state: str
    comment: str | None = None
    evidence: dict = Field(default_factory=dict, sa_column=Column(MutableDict.as_mutable(JSON)))
    # SHA-256 of this row's content and the previous row's hash (audit_chain.py): a chain
    # that `appointer audit verify` recomputes to find a row changed or deleted afterwards
    hash: str | None = None


class OutboxMessage(SQLModel, table=True):
    """A rendered email waiting to be sent (or sent, or failed). Written in the transaction
    that caused it; drained after commit by `appointer mail send`."""

    # the sender takes what is due in order: queued rows by next attempt (ix_outboxmessage_due)
    __table_args__ = (Index("ix_outboxmessage_case", "case_type", "case_id"),
                      Index("ix_outboxmessage_due", "status", "next_attempt_at"))

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(unique=True)  # stable across retries: clients fold duplicates
    dedupe_key: str | None = Field(default=None, unique=True)  # e.g. one reminder per rule/due
    case_type: str | None = None
    case_id: int | None = None  # (found with case_type: ix_outboxmessage_case)
    case_state: str | None = None  # the case's state it was written for; cancelled on leaving it
    template: str
    lang: str = "nb"
    to_addrs: list = Field(default_factory=list, sa_column=Column(MutableList.as_mutable(JSON)))
    reply_to: str | None = None
    subject: str
    body_text: str
    body_html: str
    status: str = "queued"  # queued | sent | failed | cancelled
    attempts: int = 0
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    lease_until: dt.datetime | None = None
    claimed_by: str | None = None
    last_error: str | None = None
    sent_at: dt.datetime | None = None


class Token(SQLModel, table=True):
    """A confirmation link. Only the SHA-256 of the random token is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    case_type: str
    case_id: int = Field(index=True)
    role: str  # candidate | leader
    recipient_email: str
    recipient_name: str | None = None
    triggers: list = Field(default_factory=list, sa_column=Column(MutableList.as_mutable(JSON)))
    case_state: str  # the state it answers; the token dies when the case leaves it
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class Meeting(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("service_id", "held_on"),)

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="service.id", index=True)
    held_on: dt.date
    note: str | None = None
    created_at: dt.datetime


class ReminderLog(SQLModel, table=True):
    """One row per reminder sent: a case (or group), a rule, a due date. The unique key is
    what makes `appointer remind` idempotent across cron runs."""

    __table_args__ = (UniqueConstraint("rule", "subject_type", "subject_id", "due_on", "recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    rule: str
    subject_type: str  # appointment | service | group | digest
    subject_id: int
    due_on: dt.date
    recipient: str
    outbox_id: int | None = Field(default=None, foreign_key="outboxmessage.id")
    created_at: dt.datetime


# -- the annual report cycle (workflows/annual_report.toml, appointer/reports.py) -------------
_report_version = Column("version_id", Integer, nullable=False, default=1)


class ReportCase(SQLModel, table=True):
    """One service's annual report for one year: a case of the annual-report workflow."""

    __table_args__ = (UniqueConstraint("service_id", "year"),)
    __mapper_args__ = {"version_id_col": _report_version}

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="service.id", index=True)
    year: int = Field(index=True)
    state: str = Field(index=True)
    version_id: int = Field(default=1, sa_column=_report_version)
    lang: str = "nb"
    submitter_name: str | None = None
    submitter_email: str | None = None
    approved_on: dt.date | None = None
    approved_by: str | None = None  # who closed the approval (the group leader, or a coordinator)
    approval_note: str | None = None  # e.g. the meeting that decided it
    submitted_on: dt.date | None = None
    submitted_by: str | None = None
    # parts submitted without: {part: reason}, as the submitter confirmed them
    missing_parts: dict = Field(default_factory=dict,
                                sa_column=Column(MutableDict.as_mutable(JSON)))
    regional_assessment: str | None = None
    regional_assessed_on: dt.date | None = None
    national_assessment: str | None = None
    national_assessed_on: dt.date | None = None
    feedback: str | None = None
    feedback_on: dt.date | None = None
    follow_up: str | None = None  # to be taken up in next year's report
    created_at: dt.datetime
    state_since: dt.datetime


class ReportPart(SQLModel, table=True):
    """A part of a report with one author: `service`, `region:<code>` or `group`."""

    __table_args__ = (UniqueConstraint("report_id", "part"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="reportcase.id", index=True)
    part: str
    position: int  # the order in the document
    author_name: str | None = None
    author_email: str | None = None
    member_id: int | None = None  # the appointment the author holds (regional and group parts)
    state: str = "invited"  # invited | draft | done | delivered_elsewhere
    current_version_id: int | None = None  # the newest saved text (ReportPartVersion.id)
    done_at: dt.datetime | None = None
    updated_at: dt.datetime


class ReportPartVersion(SQLModel, table=True):
    """Every save of a part's text, never overwritten: who, when, and the version it was
    written over (`base_version_id`)."""

    id: int | None = Field(default=None, primary_key=True)
    part_id: int = Field(foreign_key="reportpart.id", index=True)
    number: int
    text: str
    author_name: str | None = None
    author_email: str | None = None
    base_version_id: int | None = None
    via: str = "link"  # link | cli
    created_at: dt.datetime


class ReportApproval(SQLModel, table=True):
    """A member's answer to the finished report: approve, or a comment."""

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="reportcase.id", index=True)
    member_id: int | None = None
    name: str | None = None
    email: str
    decision: str  # approve | comment
    comment: str | None = None
    created_at: dt.datetime
