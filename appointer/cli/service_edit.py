"""appointer service edit / history: correct a service's record, and read everything that
happened to it."""

from __future__ import annotations

import click

from appointer.cli._common import emit, output_options, pass_app, table, warn
from appointer.cli.service import DATE_OPTIONS, _by_option, _dated


@click.command("edit")
@click.argument("service_ref", metavar="SERVICE")
@click.option("--name", help="The approved Norwegian name, spelt right (a new name is a "
                             "lifecycle change: `service advance ID request_change`).")
@click.option("--name-en", help="The approved English name, spelt right (empty: none).")
@click.option("--hf", "hosts", multiple=True, metavar="INSTITUTION",
              help="The host institution(s) in place of those recorded; twice for "
                   "multiregional.")
@click.option("--function", type=click.Choice(["training", "competence_building"]),
              help="A competence service's function (sets its term).")
@click.option("--leader-name", help="The service's leader (empty: none).")
@click.option("--leader-email", help="The leader's address (empty: none).")
@click.option("--lang", type=click.Choice(["nb", "en"]), help="Language of its emails.")
@click.option("--note", help="The register's remark or source (empty: none).")
@_dated
@click.option("--comment", help="Why; kept in the history (default: what was corrected).")
@output_options
@pass_app
def service_edit(app, service_ref, name, name_en, hosts, function, leader_name, leader_email,
                 lang, note, comment, as_json, **dates):
    """Correct what was registered wrong, or complete what was unknown.

    The corrected record meets the same rules as `service add` (kind, hosts and function
    together; the dates its state needs, in order, none after today): an edit that breaks
    one is refused and nothing is stored. One audit row keeps every old → new value
    (`service history`). No email is sent. A host corrected to another institution moves
    no member: what the group's members now break (a member for the host's region from the
    new host, a seat appointed by a region that no longer appoints it) is a warning.

    \b
    Examples:
      appointer --as kari@helse-nord.no service edit 14 --hf "Universitetssykehuset Nord-Norge HF"
      appointer --as kari@helse-nord.no service edit 9 --function training --established 2012
      appointer --as kari@helse-nord.no service edit 3 --leader-email per.hansen@ous-hf.no
    """
    from appointer.service_edit import edit_service
    from appointer.services import details

    text = {k: v for k, v in dict(name=name, name_en=name_en, function=function,
                                  leader_name=leader_name, leader_email=leader_email,
                                  lang=lang, note=note).items() if v is not None}
    given = {DATE_OPTIONS[k]: v for k, v in dates.items() if v is not None}
    with app.transaction() as tx:
        row, changes, warnings = _by_option(lambda: edit_service(
            tx, service_ref, app.actor(tx.session), hosts=list(hosts) or None, dates=given,
            comment=comment, **text))
        data = {**details(tx, row), "changes": changes, "warnings": warnings}
    if changes:
        said = "; ".join(f"{k}: {_shown(old)} → {_shown(new)}" for k, (old, new) in changes.items())
        message = f"service {row.id}: corrected {said}"
    else:
        message = f"service {row.id}: nothing to correct (the record already says so)"
    if data["missing_text"]:
        message += f"\nstill incomplete: {data['missing_text']}"
    if not as_json:
        for w in warnings:
            warn(f"service {row.id}: {w}")
    emit(as_json, data, message)


def _shown(value) -> str:
    if value is None or value == []:
        return "(none)"
    if isinstance(value, list):
        return " + ".join(map(str, value))
    return str(value)


@click.command("history")
@click.argument("service_ref", metavar="SERVICE")
@output_options
@pass_app
def service_history(app, service_ref, as_json):
    """Everything that happened to a service: registration or import, corrections (old →
    new), links to the services it continues, and every lifecycle step.

    \b
    Example:
      appointer service history 14
      appointer service history "Nasjonal kompetansetjeneste for amming" --json
    """
    from appointer import audit
    from appointer.clock import to_oslo
    from appointer.reference import read_service

    with app.transaction() as tx:
        service = read_service(tx.session, service_ref)
        rows = audit.history(tx.session, "service", service.id)
    data = {"id": service.id, "state": service.state, "name": service.name, "history": [
        {"id": r.id, "state": r.to_state, "at": r.at, "actor": r.actor,
         "actor_kind": r.actor_kind, "trigger": r.trigger, "from": r.from_state,
         "to": r.to_state, "comment": r.comment,
         "changes": (r.evidence or {}).get("changes", {}), "evidence": r.evidence,
         "decided_by": (r.evidence or {}).get("decided_by"),
         "decision_ref": (r.evidence or {}).get("decision_ref")}
        for r in rows]}
    lines = []
    for d in data["history"]:
        what = d["comment"] or ""
        if d["changes"]:
            what = "; ".join(f"{k}: {_shown(old)} → {_shown(new)}"
                             for k, (old, new) in d["changes"].items())
        who = d["actor"]
        if d["decided_by"]:  # the deciding body's act, recorded by a coordinator
            who = f"{d['decided_by']} (ref. {d['decision_ref']}; recorded by {d['actor']})"
        lines.append([to_oslo(d["at"]).strftime("%Y-%m-%d %H:%M"), who, d["trigger"],
                      f"{d['from'] or '—'} → {d['to']}", what])
    emit(as_json, data, f"Service {service.id}: {service.name}\n"
         + table(lines, ["when (Oslo)", "who", "trigger", "change", "what"]))
