"""Regions, institutions and coordinators: loading the reference data and finding things by
what a person types (a code, a full name, an organisation number, an id)."""

from __future__ import annotations

import csv
from importlib import resources

from sqlalchemy import bindparam
from sqlmodel import Session, select

from appointer import audit, institutions, lookups, records
from appointer.db import Tx
from appointer.errors import Forbidden, InvalidInput, NotFound
from appointer.institutions import add_institution, find_institution  # noqa: F401 (home: institutions.py)
from appointer.models import Coordinator, Institution, Region, Service


def check_email(value: str | None, what: str = "email") -> str:
    """The address as stored and sent, or InvalidInput saying why it cannot be one: checked
    by `email-validator` (syntax only: no DNS here), lower-cased, a non-ASCII domain in its
    IDNA form (`bjorg@xn--helse-frde-6cb.no`). A non-ASCII local part (`øystein@unn.no`) is
    kept; it is sent with SMTPUTF8 (`mail/sender.py`)."""
    import email_validator

    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{what} is empty: give an email address")
    try:
        valid = email_validator.validate_email(value, check_deliverability=False,
                                               allow_smtputf8=True, allow_quoted_local=False,
                                               allow_domain_literal=False)
    except email_validator.EmailNotValidError as exc:
        shown = repr(value) if len(value) <= 80 else repr(value[:60]) + f"… ({len(value)} characters)"
        raise InvalidInput(f"{what} {shown} is not an email address: {exc}") from None
    return f"{valid.local_part}@{valid.ascii_domain}".lower()


def _rows(name: str) -> list[dict]:
    with resources.files("appointer.data").joinpath(name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def seed(tx: Tx) -> dict[str, int]:
    """Load the four RHFs, the institutions and their aliases; adds what is missing, changes
    nothing else."""

    s = tx.session
    added = {"regions": 0, "institutions": 0}
    for row in _rows("regions.csv"):
        if s.get(Region, row["code"]) is None:
            s.add(Region(code=row["code"], name=row["name"], orgnr=row["orgnr"]))
            added["regions"] += 1
    s.flush()
    existing = {i.name for i in s.exec(select(Institution))}
    for row in _rows("institutions.csv"):
        if row["name"] not in existing:
            s.add(Institution(name=row["name"], kind=row["kind"], region_code=row["region"],
                              orgnr=row["orgnr"] or None))
            added["institutions"] += 1
    s.flush()
    lookups.forget(s)
    added["aliases"] = institutions.seed_aliases(tx)
    return added


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


def find_region(session: Session, ref: str) -> Region:
    """By code (`vest`), full name (`Helse Vest RHF`) or short name (`Helse Vest`); the
    matching Region (an ORM object a caller may change)."""
    return session.get(Region, region_code(session, ref))


def region_code(session: Session, ref: str) -> str:
    """Like find_region, but only the code: no ORM object (the hot path of a proposal)."""
    want = _norm(ref)
    regions = list(lookups.regions(session).values())
    for r in regions:
        names = {_norm(r.code), _norm(r.name), _norm(r.name.removesuffix(" RHF"))}
        if want in names:
            return r.code
    codes = ", ".join(f"{r.code} ({r.name})" for r in regions)
    raise NotFound(f"no region {ref!r}; the regions are: {codes}")


_S = Service.__table__
_SERVICE_ROW = select(_S).where(_S.c.id == bindparam("id"))
_SERVICES_NAMED = select(_S).where(_S.c.name.ilike(bindparam("name"))).order_by(_S.c.id)


def services_named(session: Session, name: str) -> list:
    """Services whose name is `name`, ignoring case (Core rows, by id): the one check for
    a name being taken."""
    return list(session.connection().execute(_SERVICES_NAMED, {"name": name.strip()}))


def read_service(session: Session, ref: str | int):
    """A service by id or exact name (case-insensitive), for reading only: a Core row
    (attribute access; no ORM copy of the row is left in the session, where it would go
    stale once the service's case record is written)."""
    from appointer.text import NAME_MAX, parse_id, shown

    text = str(ref).strip()
    number = parse_id(text)
    if number is not None:
        row = session.connection().execute(_SERVICE_ROW, {"id": number}).first()
        if row is not None:
            return row
    if len(text) > NAME_MAX:  # no service has such a name (and SQLite refuses a long LIKE)
        raise NotFound(f"no service {shown(text)}; see `appointer service list`")
    rows = services_named(session, text)
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        raise NotFound(f"several services are called {shown(text)} (ids "
                       f"{', '.join(str(r.id) for r in rows)}); use the id")
    raise NotFound(f"no service {shown(text)}; see `appointer service list`")


def service_record(session: Session, ref: str | int) -> records.Record:
    """A service by id or exact name as its case record, to change it (`records.write`)."""
    return records.from_row(Service, read_service(session, ref))


def find_service(session: Session, ref: str | int) -> Service:
    """A service by id or exact name: the ORM row, for code that reads it as a model (a
    change goes through `service_record`)."""
    return session.get(Service, read_service(session, ref).id)


def find_coordinator(session: Session, email: str) -> Coordinator | None:
    key = email.strip().lower()
    if not key.isascii():  # stored with an IDNA domain (`check_email`)
        try:
            key = check_email(key)
        except InvalidInput:
            return None
    return session.exec(select(Coordinator).where(Coordinator.email == key)).first()


def coordinator_by_login(session: Session, login: str) -> Coordinator | None:
    """The coordinator an operating-system account is mapped to (`identity = "os"`)."""
    return session.exec(select(Coordinator).where(Coordinator.login == login)).first()


# Reference data in the audit trail: case_type "coordinator" (case_id: the coordinator's id)
# and "region" (case_id: the region's place in data/regions.csv and REGION_ORDER, 1..4 —
# the same number the weekly digest's reminder log uses); "institution" (its id). The actor
# is an admin; the first admin is made by `init --admin` (recorded as "system").
def region_number(code: str) -> int:
    from appointer.seats import REGION_ORDER

    return REGION_ORDER.index(code) + 1


def require_admin(actor, what: str) -> None:
    """Reference data (coordinators, regions' contacts, institutions) is an admin's to
    change (issue 12): one clear line otherwise."""
    if actor is None or actor.kind != "coordinator":
        raise Forbidden(f"only an admin may {what}: pass --as the email of an admin (see "
                        "`appointer coordinator list`; the first admin is made by `appointer "
                        "init --admin EMAIL`)")
    if not getattr(actor, "admin", False):
        raise Forbidden(f"{actor.email} is not an admin: only an admin may {what}")


def make_first_admin(tx: Tx, email: str, name: str | None = None, region_ref: str | None = None,
                     login: str | None = None) -> Coordinator:
    """The first admin (`init --admin`): an existing coordinator made admin, or a new one
    (name and region needed). Refused once an active admin exists: from then on an admin
    makes the others (`coordinator add --admin`)."""
    from appointer.engine import SYSTEM

    if tx.session.exec(select(Coordinator).where(Coordinator.admin, Coordinator.active)).first():
        raise Forbidden("there is an admin already; an admin adds another with `appointer "
                        "coordinator add --admin …`")
    row = find_coordinator(tx.session, email)
    if row is None:
        if not name or not region_ref:
            raise InvalidInput(f"{email.strip()} is not a coordinator yet: give the first "
                               "admin's --admin-name and --admin-region too")
        return _add(tx, email, name, region_ref, SYSTEM, admin=True, login=login)
    before = (row.admin, row.active, row.login)
    row.admin, row.active = True, True
    row.login = _check_login(tx, login, row) if login else row.login
    tx.session.add(row)
    tx.session.flush()
    lookups.forget(tx.session)
    audit.record(tx, "coordinator", row.id, "make_admin", "active" if before[1] else "inactive",
                 "active", SYSTEM, f"{row.name} <{row.email}> is the first admin",
                 changes=_changed({"admin": (before[0], True), "active": (before[1], True),
                                   "login": (before[2], row.login)}))
    return row


def _changed(pairs: dict) -> dict:
    return {k: (old, new) for k, (old, new) in pairs.items() if old != new}


def _check_login(tx: Tx, login: str | None, row: Coordinator | None = None) -> str | None:
    """An operating-system account name (`identity = "os"`), mapped to one coordinator."""
    import re

    if login is None:
        return None
    login = login.strip()
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}", login):
        raise InvalidInput(f"login {login[:40]!r} is not an account name (letters, digits, "
                           "'_', '.', '-'; at most 64)")
    other = tx.session.exec(select(Coordinator).where(Coordinator.login == login)).first()
    if other is not None and other is not row:
        raise InvalidInput(f"login {login} is mapped to {other.email} already")
    return login


def add_coordinator(tx: Tx, email: str, name: str, region_ref: str, actor=None,
                    admin: bool = False, login: str | None = None) -> Coordinator:
    """A new coordinator (or one removed earlier, back), by an admin; audited."""
    require_admin(actor, "add coordinators")
    return _add(tx, email, name, region_ref, actor, admin=admin, login=login)


def _add(tx: Tx, email: str, name: str, region_ref: str, actor, admin: bool,
         login: str | None) -> Coordinator:
    from appointer.text import check_name

    email = check_email(email, "coordinator email")
    name = check_name(name, "the coordinator's name")
    if not name:
        raise InvalidInput("a coordinator needs a name")
    region = find_region(tx.session, region_ref)
    existing = find_coordinator(tx.session, email)
    if existing is not None and existing.active:
        raise InvalidInput(f"a coordinator with the email {email} is already registered")
    login = _check_login(tx, login, existing)
    if existing is not None:  # removed earlier, and back
        if existing.region_code != region.code:
            raise InvalidInput(f"{email} was a coordinator of {existing.region_code}; add them "
                               f"back with --region {existing.region_code}")
        changes = _changed({"active": (False, True), "admin": (existing.admin, admin),
                            "login": (existing.login, login or existing.login)})
        existing.active, existing.admin = True, admin
        existing.login = login or existing.login
        tx.session.add(existing)
        tx.session.flush()
        lookups.forget(tx.session)
        audit.record(tx, "coordinator", existing.id, "reactivate", "inactive", "active",
                     actor, f"{existing.name} <{existing.email}> back", changes=changes)
        return existing
    row = Coordinator(email=email, name=name.strip(), region_code=region.code, admin=admin,
                      login=login)
    tx.session.add(row)
    tx.session.flush()
    lookups.forget(tx.session)
    audit.record(tx, "coordinator", row.id, "add", None, "active", actor,
                 f"{row.name} <{row.email}>, {region.name}" + (", admin" if admin else ""),
                 changes=_changed({"admin": (False, admin), "login": (None, login)}))
    return row


def remove_coordinator(tx: Tx, email: str, actor=None) -> Coordinator:
    """A coordinator who left: inactive from now on (can no longer act, gets no mail); the
    row stays, so the history keeps the name. By an admin; the last admin stays."""
    require_admin(actor, "remove coordinators")
    row = find_coordinator(tx.session, email)
    if row is None:
        raise NotFound(f"no coordinator {email.strip()!r}; see `appointer coordinator list`")
    if not row.active:
        raise InvalidInput(f"coordinator {row.email} was removed already")
    if row.admin and not tx.session.exec(select(Coordinator).where(
            Coordinator.admin, Coordinator.active, Coordinator.id != row.id)).first():
        raise InvalidInput(f"{row.email} is the last admin: make another admin first")
    row.active = False
    tx.session.add(row)
    tx.session.flush()
    lookups.forget(tx.session)
    audit.record(tx, "coordinator", row.id, "remove", "active", "inactive", actor,
                 f"{row.name} <{row.email}> removed", changes={"active": (True, False)})
    return row


def set_region_contact(tx: Tx, region_ref: str, email: str | None, actor=None) -> Region:
    """Set (or, email None, clear) the region's contact address, by an admin; audited old ->
    new. The same address again changes nothing."""
    require_admin(actor, "change a region's contact address")
    region = find_region(tx.session, region_ref)
    before = region.contact_email
    after = check_email(email, "contact address") if email is not None else None
    if after == before:  # nothing to change, nothing to audit (a setup script run again)
        return region
    region.contact_email = after
    tx.session.add(region)
    tx.session.flush()
    lookups.forget(tx.session)
    state = lambda value: "contact set" if value else "no contact"  # noqa: E731
    audit.record(tx, "region", region_number(region.code), "contact", state(before),
                 state(after), actor, f"contact of {region.name}",
                 changes={"contact_email": (before, after)})
    return region


def contact_or_coordinators(session, region_code: str) -> list[tuple[str, str | None, str]]:
    """A region's contact address, or its coordinators where none is set: (email, name, role).
    `session`: a session, or a unit of work (`lookups`)."""
    region = lookups.region(session, region_code)
    if region is not None and region.contact_email:
        return [(region.contact_email, region.name, "contact")]
    return [(c.email, c.name, "coordinator") for c in coordinators_of(session, region_code)]


def coordinators_of(session, region_code: str) -> list:
    """The active coordinators of a region (rows with email, name, region_code)."""
    return lookups.coordinators(session, region_code)
