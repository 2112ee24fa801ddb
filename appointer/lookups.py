"""Read-only look-ups on the hot path (every transition renders emails that name regions,
institutions and coordinators): `stepsql` statements, not the ORM. Results are plain rows
(named tuples: attribute access), memoised for the rest of the unit of work (`Tx.memo`, which
its session's `info` shares) — reference data, which no workflow changes mid-transaction, and
a service's row as first read (`service`)."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlmodel import Session

from appointer.models import (
    Appointment,
    Coordinator,
    Institution,
    InstitutionAlias,
    Region,
    Service,
    ServiceHost,
)
from appointer.records import Record
from appointer.stepsql import Statement

_R = Region.__table__
_I = Institution.__table__
_C = Coordinator.__table__
_A = Appointment.__table__
_H = ServiceHost.__table__
_IA = InstitutionAlias.__table__

_REGIONS = Statement(select(_R))
_INSTITUTION = Statement(select(_I).where(_I.c.id == bindparam("id")))
_INSTITUTIONS = Statement(select(_I).order_by(_I.c.id))
_ALIASES = Statement(select(_IA.c.alias, _IA.c.institution_id)
                     .order_by(_IA.c.institution_id, _IA.c.alias))
_SERVICE = Statement(select(Service.__table__).where(Service.__table__.c.id == bindparam("id")))
_HOSTS = Statement(select(_H.c.position, _I).join(_I, _I.c.id == _H.c.institution_id)
                   .where(_H.c.service_id == bindparam("service_id")).order_by(_H.c.position))
_COORDINATORS = Statement(select(_C).where(_C.c.region_code == bindparam("region"),
                                           _C.c.active.is_(True)).order_by(_C.c.id))
_APPOINTED = Statement(select(_A.c.id, _A.c.candidate_name, _A.c.candidate_email, _A.c.lang)
                       .where(_A.c.service_id == bindparam("service_id"),
                              _A.c.state == "appointed").order_by(_A.c.id))


def _use(src) -> tuple:
    """(connection, memo) of a unit of work (`Tx`: the step path, which needs no session) or
    of a session."""
    memo = getattr(src, "memo", None)
    if memo is not None:
        return src.connection, memo
    return src.connection(), src.info.setdefault("appointer.lookups", {})


def _memo(session: Session) -> dict:
    return _use(session)[1]


def regions(session: Session) -> dict:
    """All four regions by code, in one query per transaction."""
    conn, memo = _use(session)
    if "regions" not in memo:
        memo["regions"] = {r.code: r for r in _REGIONS.named(conn)}
    return memo["regions"]


def region(session: Session, code: str):
    return regions(session).get(code)


def institution(session: Session, institution_id: int | None):
    if institution_id is None:
        return None
    conn, memo = _use(session)
    key = ("institution", institution_id)
    if key not in memo:
        memo[key] = _INSTITUTION.named_first(conn, {"id": institution_id})
    return memo[key]


def institutions(session: Session) -> list:
    """Every institution (a few dozen rows), once per transaction."""
    conn, memo = _use(session)
    if "institutions" not in memo:
        memo["institutions"] = _INSTITUTIONS.named(conn)
    return memo["institutions"]


def institution_aliases(session: Session) -> list:
    """Every alias (rows with alias, institution_id), once per transaction."""
    conn, memo = _use(session)
    if "aliases" not in memo:
        memo["aliases"] = _ALIASES.named(conn)
    return memo["aliases"]


def memoised(session: Session, key: str, build):
    """`build()`'s result, kept for the rest of the transaction (something computed from
    the reference data above, such as the institution resolver's index)."""
    memo = _memo(session)
    if key not in memo:
        memo[key] = build()
    return memo[key]


def service(session: Session, service_id: int):
    """A service's row (a record: attribute access, every column) as first read in the unit of
    work: what the messages and recipient groups of a transition read, after its effects."""
    conn, memo = _use(session)
    key = ("service", service_id)
    if key not in memo:
        row = _SERVICE.first_stored(conn, {"id": service_id})
        memo[key] = Record(Service, *row) if row is not None else None
    return memo[key]


def hosts(session: Session, service_id: int) -> list:
    """(position, institution row) of a service's hosts."""
    conn, memo = _use(session)
    key = ("hosts", service_id)
    if key not in memo:
        memo[key] = [(r.position, r) for r in _HOSTS.named(conn, {"service_id": service_id})]
    return memo[key]


def coordinators(session: Session, region_code: str) -> list:
    conn, memo = _use(session)
    key = ("coordinators", region_code)
    if key not in memo:
        memo[key] = _COORDINATORS.named(conn, {"region": region_code})
    return memo[key]


def appointed_members(session: Session, service_id: int) -> list:
    return _APPOINTED.named(_use(session)[0], {"service_id": service_id})


def forget(session: Session) -> None:
    """Drop the memo (after this transaction changed reference data itself)."""
    _use(session)[1].clear()
