"""Registering national services (those that already run) and reading them back."""

from __future__ import annotations

from sqlmodel import select

from appointer.db import Tx
from appointer.errors import InvalidInput
from appointer.models import FUNCTIONS, SERVICE_KINDS, Service, ServiceHost, ServiceName
from appointer.reference import check_email, find_institution

KIND_HELP = {
    "national": "national treatment service: exactly one host institution",
    "multiregional": "multiregional treatment service: exactly two hosts in two different regions",
    "competence": "national competence service: one host, and --function training|competence_building",
    "centre": "national centre: one host",
    "network": "national quality and competence network: one host",
}

# States of the lifecycle before approval: no reference group may be built yet.
PRE_APPROVAL_STATES = {"draft", "submitted", "prioritised", "deprioritised", "sent", "rejected"}


def validate_shape(kind: str, function: str | None, host_refs: list[str], session):
    """Check kind, function and hosts together; return the host institutions."""
    if kind not in SERVICE_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(SERVICE_KINDS)}, not {kind!r}")
    if kind == "competence":
        if function not in FUNCTIONS:
            raise InvalidInput(
                "a national competence service is time-limited by its function: give "
                "--function training (5 years) or --function competence_building (10 years)"
            )
    elif function is not None:
        raise InvalidInput(f"--function applies only to competence services, not to {kind}")
    institutions = [find_institution(session, ref) for ref in host_refs]
    if len({i.id for i in institutions}) != len(institutions):
        raise InvalidInput("the same institution is given twice as host")
    if kind == "multiregional":
        if len(institutions) != 2:
            raise InvalidInput("a multiregional treatment service is at exactly two institutions "
                               f"in two different regions (give --hf twice; got {len(institutions)})")
        if institutions[0].region_code == institutions[1].region_code:
            raise InvalidInput(
                f"a multiregional treatment service must be in two different regions; "
                f"{institutions[0].name} and {institutions[1].name} are both in "
                f"{institutions[0].region_code}"
            )
    elif len(institutions) != 1:
        what = "a national treatment service is at exactly one institution in the country" \
            if kind == "national" else f"a {kind} service has one host institution"
        raise InvalidInput(f"{what} (got {len(institutions)} --hf)")
    return institutions


def add_service(tx: Tx, *, name: str, kind: str, hosts: list[str], leader_name: str | None,
                leader_email: str | None, function: str | None = None,
                name_en: str | None = None, state: str = "established",
                lang: str | None = None, **dates) -> Service:
    s = tx.session
    name = (name or "").strip()
    if not name:
        raise InvalidInput("a service needs a name")
    institutions = validate_shape(kind, function, hosts, s)
    if s.exec(select(Service).where(Service.name.ilike(name))).first():
        raise InvalidInput(f"a service called {name!r} is already registered")
    if leader_email:
        leader_email = check_email(leader_email, "leader email")
    now = tx.clock.now()
    row = Service(name=name, name_en=name_en, kind=kind, function=function,
                  leader_name=(leader_name or "").strip() or None, leader_email=leader_email,
                  state=state, lang=lang or tx.settings.lang, created_at=now, state_since=now,
                  **dates)
    s.add(row)
    s.flush()
    for position, inst in enumerate(institutions, start=1):
        s.add(ServiceHost(service_id=row.id, position=position, institution_id=inst.id))
    s.add(ServiceName(service_id=row.id, name=name, name_en=name_en,
                      valid_from=dates.get("established_on") or tx.clock.today()))
    s.flush()
    return row


def list_services(session) -> list[Service]:
    return list(session.exec(select(Service).order_by(Service.id)))

