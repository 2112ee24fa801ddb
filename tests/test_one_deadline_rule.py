"""One deadline rule (issue 10, part 8): `service show`, `agenda`, `calendar export`, the weekly
digest and the reminders list the same lifecycle deadlines, on the same dates, for the same
service and the same day: they all read `deadlines.service_deadlines` with the clock's today."""

from __future__ import annotations

import datetime as dt
import re

import icalendar
from oversight_helpers import add_service, queued, start_reminding

from appointer.deadlines import lifecycle_rules

D = dt.date.fromisoformat
TODAY = "2027-08-16"  # a Monday
MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september",
          "oktober", "november", "desember")


def _patterns() -> dict[str, re.Pattern]:
    """rule -> its Norwegian line in an email, with the deadline's date captured."""
    _, specs = lifecycle_rules()
    out = {}
    for rule, spec in specs.items():
        label = re.sub(r"\\\{\w+\\\}", ".+?", re.escape(spec["label_nb"]))
        out[rule] = re.compile(rf"^\s*- (?:NY: )?{label} – frist (\d+)\. (\w+) (\d{{4}})")
    return out


def _from_mail(body: str) -> set[tuple[str, str]]:
    found = set()
    for line in body.splitlines():
        for rule, pattern in _patterns().items():
            m = pattern.match(line)
            if m:
                day, month, year = int(m[1]), MONTHS.index(m[2]) + 1, int(m[3])
                found.add((rule, dt.date(year, month, day).isoformat()))
    return found


def test_show_agenda_calendar_digest_and_reminders_list_the_same_deadlines(
        initialised, cli, tmp_path):
    """For a competence service (one deadline overdue since 2025, two coming) and a draft
    application (whose round depends on today), the five outputs agree rule for rule and date
    for date; the first annual report, whose date passed in 2024, is in none of them."""
    start_reminding(initialised, D("2022-06-01"))
    ids = {
        "competence": add_service(initialised, D("2022-06-01"), "Kompetansetjeneste K",
                                  kind="competence", function="training",
                                  established_on=D("2022-06-01")),
        "draft": add_service(initialised, D("2022-06-01"), "Soknad S", state="draft"),
    }
    expected = {
        "competence": {("continuation_initiative", "2025-12-01"),
                       ("competence_term_end", "2027-06-01"),
                       ("next_evaluation", "2027-06-01")},
        "draft": {("application_internal", "2027-08-31")},  # the round heading for 2028
    }
    cli.today = TODAY
    agenda = cli.json("agenda", "--within", "3650d")
    ics = tmp_path / "deadlines.ics"
    cli("calendar", "export", "-o", str(ics))
    events = icalendar.Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    cli("remind")
    sent = queued(initialised)
    digest = next(m["body"] for m in sent
                  if m["template"] == "reminder.digest" and m["to"] == "coord@sor-ost.example")

    for what, sid in ids.items():
        show = {(d["rule"], d["due_on"]) for d in cli.json("service", "show", str(sid))[
            "deadlines"] if not d["done"]}
        listed = {(i["detail"]["rule"], i["due_on"]) for i in agenda
                  if i["kind"].startswith("lifecycle.") and i["service_id"] == sid}
        calendar = set()
        for e in events:
            m = re.match(rf"lifecycle\.(\w+)\.\d{{4}}-service-{sid}@", str(e["uid"]))
            if m:
                calendar.add((m[1], e.decoded("dtstart").isoformat()))
        name = cli.json("service", "show", str(sid))["name"]
        section = digest.split(f"{name} (tjeneste {sid})")[1].split("\n\n")[0]
        reminder = next(m["body"] for m in sent if m["template"] == "reminder.service"
                        and m["to"] == f"leader@{name.lower().replace(' ', '-')}.example")
        outputs = {"service show": show, "agenda": listed, "calendar export": calendar,
                   "digest": _from_mail(section), "reminder": _from_mail(reminder)}
        assert outputs == dict.fromkeys(outputs, expected[what]), what
    assert "first_annual_report" not in {
        d["rule"] for d in cli.json("service", "show", str(ids["competence"]))["deadlines"]}
    overdue = [d["id"] for d in cli.json("service", "list", "--overdue")]
    assert overdue == [ids["competence"]]
