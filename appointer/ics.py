"""Every open deadline on the agenda as an iCalendar file (RFC 5545) a coordinator can
subscribe to in Outlook. Written with the `icalendar` library.

Each item is one all-day event. Its UID names the deadline, not the day (`<rule>-<subject>`,
with the year for yearly and lifecycle deadlines), so when a date moves the calendar updates
the event instead of adding a second one, and an event disappears when its item is done.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse

from appointer.agenda import Item


def uid(item: Item, domain: str) -> str:
    return f"{item.key}-{item.subject_type}-{item.subject_id}@{domain}"


def export(items: list[Item], now: dt.datetime, base_url: str, name: str,
           texts: list[str] | None = None, lang: str = "en") -> bytes:
    """`texts`: each item's words in `lang` (appointer.agenda_text.describe), else its label."""
    from icalendar import Calendar, Event

    from appointer import terms

    domain = urlparse(base_url).hostname or "appointer"
    cal = Calendar()
    cal.add("prodid", "-//Appointer//deadlines//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Europe/Oslo")
    seen: set[str] = set()
    said = {id(item): text for item, text in zip(items, texts or [i.label for i in items],
                                                 strict=True)}
    for item in sorted(items, key=lambda i: (i.due_on, i.key, i.subject_id)):
        ident = uid(item, domain)
        if ident in seen:  # two deadlines of one rule and subject in one year: keep both
            ident = ident.replace("@", f"-{item.due_on.isoformat()}@")
        seen.add(ident)
        event = Event()
        event.add("uid", ident)
        event.add("dtstamp", now)
        event.add("dtstart", item.due_on)
        event.add("dtend", item.due_on + dt.timedelta(days=1))
        event.add("summary", f"{item.service_name}: {said[id(item)]}")
        event.add("description", "\n".join([
            f"{terms.term(lang, 'agenda.service')} {item.service_id}: {item.service_name}",
            said[id(item)],
            f"{terms.term(lang, 'agenda.regions')}: "
            + (", ".join(terms.region(lang, r) for r in item.regions) or "-"),
        ]))
        event.add("categories", [item.kind.partition(".")[0]])
        event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
        cal.add_component(event)
    return cal.to_ical()
