"""The seats of a reference group (`000` §3–4) and who appoints to each.

- `region:<code>`: one member from each of the four regions; the RHF of that region appoints.
  The member for a region hosting the service comes from another institution than the host.
- `service` (or `service:1`, `service:2` for a multiregional service, one per location): the
  service itself; appointed by the region where the service (that location) is.
- `user:<n>`: user representatives (at least one); no line manager, so no consent step.
- `other:<n>`: optional others (municipal health and care services, other sectors).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from appointer import lookups
from appointer.errors import InvalidInput
from appointer.models import Institution, Service

REGION_ORDER = ("sor-ost", "vest", "midt", "nord")
# who appoints the user and other seats of a service whose host is not known yet (imported
# without one): the first region, until `service edit --hf` says where the service is
HOME_UNKNOWN = REGION_ORDER[0]


@dataclass(frozen=True)
class Host:
    position: int
    institution: Institution  # a row with the Institution's columns (id, name, region_code…)


@dataclass(frozen=True)
class Seat:
    code: str
    kind: str  # region | service | user | other
    appointing_region: str
    required: bool
    host: Host | None = None  # for service seats: the location it represents

    @property
    def has_line_manager(self) -> bool:
        return self.kind != "user"


def hosts(session: Session, service: Service) -> list[Host]:
    """The service's host institutions (rows with id, name, region_code, …), in position
    order; read once per transaction."""
    return [Host(position, inst) for position, inst in lookups.hosts(session, service.id)]


def host_regions(session: Session, service: Service) -> set[str]:
    return {h.institution.region_code for h in hosts(session, service)}


def required_seats(session: Session, service: Service) -> list[Seat]:
    return seats_for(service, hosts(session, service))


def seats_for(service: Service, hs: list[Host]) -> list[Seat]:
    """The required seats of a service with these hosts (no database access: the oversight
    code loads the hosts of many services at once)."""
    seats = [Seat(f"region:{code}", "region", code, True) for code in REGION_ORDER]
    if service.kind == "multiregional":
        seats += [Seat(f"service:{h.position}", "service", h.institution.region_code, True, h)
                  for h in hs]
    elif hs:
        seats.append(Seat("service", "service", hs[0].institution.region_code, True, hs[0]))
    home = hs[0].institution.region_code if hs else HOME_UNKNOWN
    seats.append(Seat("user:1", "user", home, True))
    return seats


def seat_of(session: Session, service: Service, code: str) -> Seat:
    """A stored seat code back to its Seat."""
    for seat in required_seats(session, service):
        if seat.code == code:
            return seat
    kind, _, _ = code.partition(":")
    if kind in ("user", "other"):
        hs = hosts(session, service)
        return Seat(code, kind, hs[0].institution.region_code if hs else HOME_UNKNOWN, False)
    raise InvalidInput(f"unknown seat {code!r}")


def parse_seat(session: Session, service: Service, text: str, taken: set[str]) -> Seat:
    """What a coordinator types (`region:vest`, `region:Helse Vest`, `service`, `service:2`,
    `user`, `user:2`, `other`) to a Seat. `taken`: seat codes with an open case; a bare
    `user`/`other` picks the next free number."""
    from appointer.reference import region_code

    raw = text.strip()
    kind, _, rest = raw.partition(":")
    kind = kind.lower()
    hs = hosts(session, service)
    if kind == "region":
        if not rest:
            raise InvalidInput("name the region: --seat region:sor-ost|vest|midt|nord")
        code = region_code(session, rest)
        return seat_of(session, service, f"region:{code}")
    if kind == "service":
        if not hs:
            raise InvalidInput(
                f"the service seat is held for the service at its host, and the host of service "
                f"{service.id} is unknown: complete it first (`appointer service edit "
                f"{service.id} --hf …`)")
        if service.kind == "multiregional":
            if rest not in ("1", "2"):
                where = "; ".join(f"service:{h.position} = {h.institution.name}" for h in hs)
                raise InvalidInput(
                    f"a multiregional service has one service seat per location ({where}); "
                    "say which"
                )
            return seat_of(session, service, f"service:{rest}")
        if rest not in ("", "1"):
            raise InvalidInput("this service has one service seat: --seat service")
        return seat_of(session, service, "service")
    if kind in ("user", "other"):
        if rest:
            from appointer.text import parse_id, shown

            number = parse_id(rest) if len(rest) <= 3 else None  # ASCII digits; a few seats
            if number is None:
                raise InvalidInput(f"seat {shown(raw)}: the number after {kind}: must be 1, 2, "
                                   "… (at most 999)")
            code = f"{kind}:{number}"
        else:
            n = 1
            while f"{kind}:{n}" in taken:
                n += 1
            code = f"{kind}:{n}"
        return seat_of(session, service, code)
    raise InvalidInput(
        f"unknown seat {raw!r}; seats are region:CODE (one per region), "
        + ("service:1 / service:2" if service.kind == "multiregional" else "service")
        + ", user[:N] (user representatives) and other[:N]"
    )


def check_candidate_for_seat(session: Session, service: Service, seat: Seat,
                             institution: Institution | None) -> None:
    """The composition rules a proposal must meet (`000` §3)."""
    hs = hosts(session, service)
    if seat.kind == "region":
        if institution is None:
            raise InvalidInput(f"a member for {seat.code} represents the specialist health service "
                               "of that region: give --institution (where the candidate works)")
        region = lookups.region(session, seat.appointing_region)
        if institution.region_code != seat.appointing_region:
            raise InvalidInput(
                f"{institution.name} belongs to {lookups.region(session, institution.region_code).name}, "
                f"but seat {seat.code} is for {region.name}: one member per region, from that region"
            )
        host_here = [h for h in hs if h.institution.region_code == seat.appointing_region]
        if any(h.institution.id == institution.id for h in host_here):
            raise InvalidInput(
                f"the member for the service's own region ({region.name}) must come from another "
                f"institution than the host, {institution.name} (core mandate §3)"
            )
    elif seat.kind == "service":
        if institution is None:
            raise InvalidInput(f"the service seat is held by someone from the service: give "
                               f"--institution {seat.host.institution.name!r}")
        if institution.id != seat.host.institution.id:
            raise InvalidInput(
                f"seat {seat.code} represents the service at {seat.host.institution.name}; "
                f"{institution.name} is not that location"
            )
