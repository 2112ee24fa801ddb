"""Who gets an email: the pieces every workflow's recipient groups are made of."""

from __future__ import annotations

from appointer.engine import Recipient
from appointer.reference import contact_or_coordinators, coordinators_of


def dedupe(recipients: list[Recipient]) -> list[Recipient]:
    """One address, one message: the first occurrence wins; empty addresses are dropped."""
    seen: set[str] = set()
    out = []
    for r in recipients:
        if r.email and r.email not in seen:
            seen.add(r.email)
            out.append(r)
    return out


def service_leader(service) -> list[Recipient]:
    """The service's leader, in the service's language (none if no address is known)."""
    if not service.leader_email:
        return []
    return [Recipient(service.leader_email, service.leader_name, "service", service.lang)]


def region_contact(tx, code: str) -> list[Recipient]:
    """A region's service-environment contact address, or its coordinators where none is set."""
    return [Recipient(email, name, role, tx.settings.lang)
            for email, name, role in contact_or_coordinators(tx, code)]


def region_coordinators(tx, code: str) -> list[Recipient]:
    """A region's coordinators, or its contact address where it has none."""
    people = [Recipient(c.email, c.name, "coordinator", tx.settings.lang)
              for c in coordinators_of(tx, code)]
    return people or region_contact(tx, code)
