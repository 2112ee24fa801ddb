"""A reference group's seats, who holds them, its leader, and what is missing (`000` §3)."""

from __future__ import annotations

from sqlmodel import Session, select

from appointer.models import Appointment, Institution, Region, Service
from appointer.seats import host_regions, hosts, required_seats


def group_status(session: Session, service: Service, seat_states: set[str]) -> dict:
    """Everything `appointer group show` prints, as data."""
    cases = list(session.exec(
        select(Appointment)
        .where(Appointment.service_id == service.id, Appointment.state.in_(seat_states))
        .order_by(Appointment.id)
    ))
    by_seat: dict[str, list[Appointment]] = {}
    for c in cases:
        by_seat.setdefault(c.seat, []).append(c)
    regions = {r.code: r for r in session.exec(select(Region))}
    institutions = {i.id: i for i in session.exec(select(Institution))}

    def holder(c: Appointment | None) -> dict | None:
        if c is None:
            return None
        inst = institutions.get(c.institution_id)
        return {"id": c.id, "state": c.state, "name": c.candidate_name,
                "institution": inst.name if inst else None,
                "appointed_on": c.appointed_on.isoformat() if c.appointed_on else None}

    seats, problems = [], []
    required = required_seats(session, service)
    codes = [s.code for s in required] + sorted(
        code for code in by_seat if code not in {s.code for s in required})
    for code in codes:
        seat = next((s for s in required if s.code == code), None)
        held = by_seat.get(code, [])
        case = held[0] if held else None
        status = "vacant" if case is None else ("appointed" if case.state == "appointed" else "pending")
        seats.append({
            "seat": code,
            "required": seat.required if seat else False,
            "appointing_region": (seat.appointing_region if seat else case.appointing_region),
            "status": status,
            "member": holder(case),
        })
        if seat is not None and seat.required and status != "appointed":
            what = {"region": f"no member for {regions[seat.appointing_region].name}",
                    "service": "the service itself is not represented"
                    + (f" ({seat.host.institution.name})" if seat.host else ""),
                    "user": "no user representative"}[seat.kind]
            problems.append(what + (f" (case {case.id} is {case.state})" if case else ""))
        if len(held) > 1:
            problems.append(f"seat {code} has {len(held)} open cases: "
                            + ", ".join(str(c.id) for c in held))

    leader = None
    located = host_regions(session, service)
    if service.group_leader_id:
        lc = session.get(Appointment, service.group_leader_id)
        if lc is not None and lc.state == "appointed":
            leader = holder(lc) | {"region": lc.appointing_region}
            if lc.appointing_region in located:
                problems.append("the group leader belongs to a region where the service is located")
    if leader is None:
        problems.append("no group leader designated")

    return {
        "service": {"id": service.id, "name": service.name, "kind": service.kind,
                    "state": service.state,
                    "hosts": [h.institution.name for h in hosts(session, service)],
                    "regions": sorted(located)},
        "id": service.id,
        "state": "complete" if not problems else "incomplete",
        "seats": seats,
        "leader": leader,
        "problems": problems,
    }
