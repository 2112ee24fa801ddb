"""appointer group …: a service's reference group as a whole."""

from __future__ import annotations

import click

from appointer.cli._common import ID, emit, output_options, pass_app


@click.group()
def group():
    """A service's reference group: its seats, leader and gaps."""


def render_group(data: dict) -> str:
    svc = data["service"]
    lines = [f"Reference group of service {svc['id']}: {svc['name']} ({svc['kind']}, "
             f"{' + '.join(svc['hosts']) or 'host unknown'})", ""]
    for s in data["seats"]:
        m = s["member"]
        who = "—" if m is None else f"{m['name'] or '(asked for)'}"
        if m and m["institution"]:
            who += f", {m['institution']}"
        state = "vacant" if m is None else m["state"]
        ref = f"#{m['id']}" if m else ""
        lines.append(f"  {s['seat']:<15} {state:<17} {ref:<6} {who}")
    lead = data["leader"]
    lines += ["", "  leader: " + (f"#{lead['id']} {lead['name']} ({lead['region']})"
                                  if lead else "(none designated)")]
    if "last_meeting" in data:
        lines.append("  last meeting: " + (data["last_meeting"] or "(none recorded)"))
    for m in data.get("absent", []):
        lines.append(f"  absent: #{m['id']} {m['name']} since {m['absent_since']}")
    if data["problems"]:
        lines += ["", "Missing or wrong:"] + [f"  - {p}" for p in data["problems"]]
    else:
        lines += ["", "Complete: every required seat is appointed and a leader designated."]
    return "\n".join(lines)


@group.command("show")
@click.argument("service_ref", metavar="SERVICE")
@output_options
@pass_app
def group_show(app, service_ref, as_json):
    """Show a group's seats, who holds them in which state, the leader, and what is missing.

    \b
    Example:
      appointer group show 3
    """
    from appointer import appointments, groups, reference

    with app.transaction() as tx:
        service = reference.find_service(tx.session, service_ref)
        data = groups.group_status(tx.session, service,
                                   appointments.load_workflow(tx).seat_states(),
                                   today=app.clock.today(), settings=app.settings)
        from appointer.report_views import service_summary

        data["annual_report"] = service_summary(tx, service.id)
    emit(as_json, data, render_group(data) + render_report(data["annual_report"]))


def render_report(r: dict | None) -> str:
    """The latest annual report in a few lines (`report status` has the whole year)."""
    if r is None:
        return ""
    lines = ["", f"Annual report {r['year']} (report {r['id']}): {r['state']}, "
             f"{r['parts_done']} of {r['parts']} parts done"
             + (f", approved {r['approved_on']}" if r["approved_on"] else "")
             + (f", submitted {r['submitted_on']}" if r["submitted_on"] else "")]
    if r["next_deadline"]:
        n = r["next_deadline"]
        lines.append(f"  next: {n['what']} by {n['on']} ({n['days']} days)")
    lines += [f"  missing: {m['region_name']} — {m['name'] or m['note']}"
              for m in r["missing_regional_parts"]]
    lines += [f"  flagged: {flag.replace('_', ' ')} two years running" for flag in r["flags"]]
    return "\n".join(lines)


@group.command("meeting")
@click.argument("service_ref", metavar="SERVICE")
@click.option("--date", "held_on", required=True, metavar="YYYY-MM-DD",
              help="The day the group met (not in the future).")
@click.option("--note", help="What it was (e.g. 'digital; annual report approved').")
@output_options
@pass_app
def group_meeting(app, service_ref, held_on, note, as_json):
    """Record a meeting of the group (the mandate asks for at least one a year).

    A group with no meeting recorded in a calendar year is flagged by `group show` and
    `groups --gaps`, and reminded from the autumn (APPOINTER_MEETING_DUE, default 09-01).

    \b
    Example:
      appointer --as kari@helse-nord.no group meeting 3 --date 2026-04-20 --note "digital"
    """
    from appointer import groups
    from appointer.cli._common import parse_day

    day = parse_day(held_on, "--date")
    with app.transaction() as tx:
        row = groups.record_meeting(tx, service_ref, day, note, app.actor(tx.session))
    emit(as_json, {"id": row.id, "state": "recorded", "service_id": row.service_id,
                   "held_on": row.held_on, "note": row.note},
         f"service {row.service_id}: meeting on {row.held_on.isoformat()} recorded")


@group.command("leader")
@click.argument("service_ref", metavar="SERVICE")
@click.argument("member_id", type=ID, metavar="MEMBER_ID")
@output_options
@pass_app
def group_leader(app, service_ref, member_id, as_json):
    """Designate the group leader: an appointed regional member from a region where the
    service is not located.

    \b
    Example:
      appointer --as kari@helse-nord.no group leader 3 12
    """
    from appointer import appointments

    with app.transaction() as tx:
        svc = appointments.designate_leader(tx, service_ref, member_id, app.actor(tx.session))
    emit(as_json, {"id": svc.id, "state": svc.state, "group_leader_id": svc.group_leader_id},
         f"service {svc.id}: group leader is member {svc.group_leader_id}")
