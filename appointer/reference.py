"""Regions, institutions and coordinators: loading the reference data and finding things by
what a person types (a code, a full name, an organisation number, an id)."""

from __future__ import annotations

import csv
import re
from importlib import resources

from sqlalchemy import bindparam
from sqlmodel import Session, select

from appointer import lookups, records
from appointer.db import Tx
from appointer.errors import InvalidInput, NotFound
from appointer.models import Coordinator, Institution, Region, Service

EMAIL_RE = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def check_email(value: str | None, what: str = "email") -> str:
    value = (value or "").strip()
    if not EMAIL_RE.match(value):
        raise InvalidInput(f"{what} {value!r} is not an email address")
    return value.lower()


def _rows(name: str) -> list[dict]:
    with resources.files("appointer.data").joinpath(name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def seed(tx: Tx) -> dict[str, int]:
    """Load the four RHFs and the institutions; adds what is missing, changes nothing else."""
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


def find_institution(session: Session, ref: str) -> Institution:
    """By id, organisation number, exact name, or a part of the name that fits only one."""
    ref = ref.strip()
    rows = lookups.institutions(session)
    for i in rows:  # as written first: no normalising of every name on the common path
        if ref == i.name or ref == str(i.id) or ref == i.orgnr:
            return i
    want = _norm(ref)
    for i in rows:
        if want == _norm(i.name):
            return i
    hits = [i for i in rows if want in _norm(i.name)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise NotFound(f"{ref!r} fits several institutions: " + "; ".join(i.name for i in hits))
    raise NotFound(f"no institution {ref!r}; see `appointer institution list` "
                   "(or add it with `appointer institution add`)")


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
    return session.exec(select(Coordinator).where(Coordinator.email == email.strip().lower())).first()


def add_coordinator(tx: Tx, email: str, name: str, region_ref: str) -> Coordinator:
    from appointer.text import check_name

    email = check_email(email, "coordinator email")
    name = check_name(name, "the coordinator's name")
    if not name:
        raise InvalidInput("a coordinator needs a name")
    region = find_region(tx.session, region_ref)
    if find_coordinator(tx.session, email) is not None:
        raise InvalidInput(f"a coordinator with the email {email} is already registered")
    row = Coordinator(email=email, name=name.strip(), region_code=region.code)
    tx.session.add(row)
    tx.session.flush()
    lookups.forget(tx.session)
    return row


def set_region_contact(tx: Tx, region_ref: str, email: str) -> Region:
    region = find_region(tx.session, region_ref)
    region.contact_email = check_email(email, "contact address")
    tx.session.add(region)
    tx.session.flush()
    lookups.forget(tx.session)
    return region


def add_institution(tx: Tx, name: str, region_ref: str, kind: str, orgnr: str | None) -> Institution:
    from appointer.text import check_name

    name = check_name(name, "the institution's name")
    if not name:
        raise InvalidInput("an institution needs a name")
    if kind not in ("hf", "private_nonprofit", "other"):
        raise InvalidInput("kind must be hf, private_nonprofit or other")
    if orgnr is not None and not re.fullmatch(r"\d{9}", orgnr):
        raise InvalidInput(f"organisation number {orgnr!r} must be nine digits")
    region = find_region(tx.session, region_ref)
    if tx.session.exec(select(Institution).where(Institution.name == name)).first():
        raise InvalidInput(f"an institution called {name!r} is already registered")
    if orgnr and tx.session.exec(select(Institution).where(Institution.orgnr == orgnr)).first():
        raise InvalidInput(f"organisation number {orgnr} is already registered")
    row = Institution(name=name, kind=kind, region_code=region.code, orgnr=orgnr)
    tx.session.add(row)
    tx.session.flush()
    lookups.forget(tx.session)
    return row


def contact_or_coordinators(session: Session, region_code: str) -> list[tuple[str, str | None, str]]:
    """A region's contact address, or its coordinators where none is set: (email, name, role)."""
    region = lookups.region(session, region_code)
    if region is not None and region.contact_email:
        return [(region.contact_email, region.name, "contact")]
    return [(c.email, c.name, "coordinator") for c in coordinators_of(session, region_code)]


def coordinators_of(session: Session, region_code: str) -> list:
    """The active coordinators of a region (rows with email, name, region_code)."""
    return lookups.coordinators(session, region_code)
