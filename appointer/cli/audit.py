"""appointer audit …: read the audit trail, and check that nobody changed it afterwards."""

from __future__ import annotations

import re

import click

from appointer.cli._common import DAY, emit, output_options, pass_app, table

_CASE = re.compile(r"^([a-z_]+):([1-9][0-9]{0,17})$")


@click.group()
def audit():
    """The audit trail: every change, who made it and when, in a tamper-evident chain.

    \b
    Example:
      appointer audit list --case appointment:12
      appointer audit verify
    """


@audit.command("list")
@click.option("--case", "case", metavar="TYPE:ID",
              help="Only this case: appointment:12, service:3, coordinator:2, region:4, report:5 …")
@click.option("--actor", metavar="EMAIL", help="Only what this actor did (an email, or "
              "candidate / leader / system).")
@click.option("--since", type=DAY, help="Only steps dated on or after this day.")
@click.option("--limit", type=click.IntRange(1, 100000), help="Only the newest N rows.")
@output_options
@pass_app
def audit_list(app, case, actor, since, limit, as_json):
    """List audit rows, oldest first.

    \b
    Example:
      appointer audit list --actor kari@helse-nord.no --since 2026-01-01
      appointer audit list --case service:3 --json
    """
    from appointer import audit as trail
    from appointer.clock import OSLO

    wanted = None
    if case:
        match = _CASE.match(case.strip())
        if not match:
            raise click.BadParameter("give TYPE:ID, such as appointment:12", param_hint="--case")
        wanted = (match.group(1), int(match.group(2)))
    with app.transaction(write=False) as tx:
        rows = trail.listing(tx.session, wanted, actor,
                             _start(since, OSLO) if since else None, limit)
        data = [{"id": r.id, "case": f"{r.case_type}:{r.case_id}", "at": r.at,
                 "recorded_at": r.recorded_at, "actor": r.actor, "actor_kind": r.actor_kind,
                 "trigger": r.trigger, "from_state": r.from_state, "state": r.to_state,
                 "comment": r.comment, "evidence": r.evidence, "hash": r.hash} for r in rows]
    emit(as_json, data, table(
        [[d["id"], d["at"].date().isoformat(), d["case"], d["trigger"],
          f"{d['from_state'] or '-'} → {d['state']}", d["actor"]] for d in data],
        ["id", "date", "case", "step", "state", "actor"]))


@audit.command("verify")
@output_options
@pass_app
def audit_verify(app, as_json):
    """Recompute the audit trail's hash chain; exit 1 naming the first row changed or deleted.

    Each row carries a SHA-256 of its content and of the row before it, so editing or
    deleting a row afterwards (with the sqlite3 shell, say) breaks the chain from that row.

    \b
    Example:
      appointer audit verify
    """
    from appointer import audit as trail

    with app.transaction(write=False) as tx:
        data = trail.verify(tx.session)
    data = {"id": data["row"], "state": "intact" if data["ok"] else "broken", **data}
    if data["ok"]:
        emit(as_json, data, f"audit trail intact: {data['rows']} rows, chain verified")
        return
    emit(as_json, data, None)
    raise click.ClickException(f"audit trail broken: {data['problem']}")


def _start(day, zone):
    """The first moment of an Oslo day, aware UTC."""
    import datetime as dt

    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
