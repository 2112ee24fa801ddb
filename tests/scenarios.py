"""Scenarios that several tests drive through the real service layer (conftest's Steps)."""

from __future__ import annotations


def every_transition(steps, sid: int, service_seat: str | None = None,
                     other: bool = False) -> list:
    """Cases of service `sid` through every transition of the appointment workflow; with
    `service_seat` and `other`, the service's own seat appointed and another participant's
    declined too. Returns the outbox."""
    steps.request(sid, "region:nord")
    steps.appoint(steps.propose(sid, "region:nord"), "nord")
    steps.appoint(steps.propose(sid, "user:1"), "sor-ost", user=True)
    if service_seat:
        steps.appoint(steps.propose(sid, service_seat), "sor-ost")
    if other:
        steps.advance(steps.propose(sid, "other:1"), "decline")
    steps.advance(steps.propose(sid, "region:vest"), "decline")
    case = steps.propose(sid, "region:midt")
    steps.advance(case, "accept")
    steps.advance(case, "refuse")
    case = steps.propose(sid, "region:midt")
    steps.advance(case, "accept")
    steps.advance(case, "consent")
    steps.advance(case, "reject", region="midt")
    steps.advance(steps.propose(sid, "region:midt"), "withdraw")
    steps.advance(steps.request(sid, "region:vest").case.id, "withdraw")
    steps.advance(1, "end", region="nord", reason="langvarig fravær")  # case 1: region:nord
    return steps.outbox()
