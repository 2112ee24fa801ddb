"""appointer member …: the appointment workflow, one case per seat."""

from __future__ import annotations

import click

from appointer.cli._common import (
    ID,
    emit,
    output_options,
    pass_app,
    read_csv_file,
    table,
    warn,
)

SEAT_HELP = ("region:CODE (sor-ost|vest|midt|nord), service (service:1 / service:2 for a "
             "multiregional service), user[:N] for user representatives, other[:N]")


@click.group()
def member():
    """Propose, clear and appoint reference-group members.

    \b
    The workflow (see `appointer workflow show appointment`):
      request  → requested         the region is asked for a candidate
      propose  → proposed          the candidate is asked for time and interest
      accept   → awaiting_consent  the candidate's leader is asked to clear it
                 (user representatives skip the leader: → ready)
      consent  → ready             the RHF of the member's region may appoint
      appoint  → appointed         word goes to the service, the group and the other RHFs
    and decline, refuse, reject, withdraw, end (member leaves; the seat is vacant again).
    """


def _print_case(as_json, tx, case, workflow, verb=""):
    from appointer.appointments import case_dict

    data = case_dict(tx.session, case, workflow, tx)
    text = f"case {case.id}: {case.state} (service {case.service_id}, seat {case.seat})"
    if verb:
        text += f" {verb}"
    emit(as_json, data, text)


@member.command("request")
@click.argument("service_ref", metavar="SERVICE")
@click.option("--seat", required=True, help=SEAT_HELP)
@click.option("--comment")
@output_options
@pass_app
def member_request(app, service_ref, seat, comment, as_json):
    """The service has no candidate for a seat: ask the region for one.

    \b
    Example:
      appointer --as kari@helse-nord.no member request 3 --seat region:nord
    """
    from appointer import appointments

    with app.transaction() as tx:
        fired = appointments.request_member(tx, service_ref, seat, app.actor(tx.session), comment)
        _print_case(as_json, tx, fired.case, appointments.load_workflow(tx))


@member.command("propose")
@click.argument("service_ref", metavar="SERVICE")
@click.option("--seat", required=True, help=SEAT_HELP)
@click.option("--name", required=True, help="The candidate's name.")
@click.option("--email", required=True, help="The candidate's email (gets the invitation).")
@click.option("--institution", help="Where the candidate works (required for regional and "
                                    "service seats).")
@click.option("--leader-name", help="The candidate's line manager (not for user representatives).")
@click.option("--leader-email", help="The line manager's email (gets the consent request).")
@click.option("--share", help='Expected share of a full position, e.g. "5 %".')
@click.option("--represents", help="Whom the member represents (default from the seat).")
@click.option("--lang", type=click.Choice(["nb", "en"]), help="Language of the candidate's emails.")
@click.option("--comment")
@output_options
@pass_app
def member_propose(app, service_ref, seat, name, email, institution, leader_name, leader_email,
                   share, represents, lang, comment, as_json):
    """Record the service's proposal of a candidate for a seat.

    Fills an open request for the seat if there is one. The candidate gets the mandate and is
    asked to confirm time and interest.

    \b
    Example:
      appointer --as kari@helse-nord.no member propose 3 --seat region:nord \\
          --name "Nina Berg" --email nina.berg@unn.no \\
          --institution "Universitetssykehuset Nord-Norge HF" \\
          --leader-name "Ola Strand" --leader-email ola.strand@unn.no --share "5 %"
    """
    from appointer import appointments

    with app.transaction() as tx:
        fired, warnings = appointments.propose_member(
            tx, service_ref, seat, name=name, email=email, institution=institution,
            leader_name=leader_name, leader_email=leader_email, share=share,
            represents=represents, actor=app.actor(tx.session), comment=comment, lang=lang)
        for w in warnings:
            warn(w)
        _print_case(as_json, tx, fired.case, appointments.load_workflow(tx), verb=_at(tx, fired))


def _oslo(iso: str) -> str:
    """A stored UTC moment as Oslo local time, to the minute."""
    import datetime as dt

    from appointer.clock import to_oslo

    return to_oslo(dt.datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M (Oslo)")


def _at(tx, fired) -> str:
    """The institution as stored (the full name `--institution` was resolved to)."""
    from appointer import lookups

    inst = lookups.institution(tx.session, fired.case.institution_id)
    return f"at {inst.name}" if inst is not None else ""


@member.command("advance")
@click.argument("case_id", type=ID)
@click.argument("trigger")
@click.option("--comment", help="Why; kept in the audit history.")
@click.option("--reason", help="Required for `end` (e.g. 'left the position', 'long absence').")
@click.option("--evidence", metavar="TEXT",
              help="Answering for the candidate or the leader (accept, decline, consent, "
                   "refuse): how they answered, e.g. 'by phone on 12 March'. Kept in the audit; "
                   "they are emailed that a coordinator answered for them.")
@output_options
@pass_app
def member_advance(app, case_id, trigger, comment, reason, evidence, as_json):
    """Fire a trigger on a case: accept, decline, consent, refuse, appoint, reject, withdraw, end.

    Refused, with the triggers that are allowed, when the case is not in a state for it.
    Every step only by the coordinators of the region that appoints the seat (the represented
    region; for the service's own seats and user representatives, the service's region);
    accept, decline, consent and refuse are the candidate's and the leader's answers, given by
    a coordinator only with --evidence.

    \b
    Examples:
      appointer --as kari@helse-nord.no member advance 12 accept --evidence "by phone 12 March"
      appointer --as kari@helse-nord.no member advance 12 appoint
      appointer --as kari@helse-nord.no member advance 12 end --reason "left the position"
    """
    from appointer import appointments

    with app.transaction() as tx:
        fired = appointments.advance(tx, case_id, trigger, app.actor(tx.session), comment, reason,
                                     evidence)
        _print_case(as_json, tx, fired.case, appointments.load_workflow(tx),
                    f"← {fired.from_state} by {trigger}")


@member.command("edit")
@click.argument("case_id", type=ID)
@click.option("--name", help="The member's (candidate's) name.")
@click.option("--email", help="The member's email: unsent mail and open links move to it.")
@click.option("--institution", help="Where the member works (the seat's rules are checked).")
@click.option("--leader-name", help="The member's line manager.")
@click.option("--leader-email", help="The line manager's email: unsent mail and open links "
                                     "move to it.")
@click.option("--share", help='Expected share of a full position, e.g. "5 %" ("" clears it).')
@click.option("--lang", type=click.Choice(["nb", "en"]), help="Language of the member's emails.")
@click.option("--note", help='A remark kept on the case ("" clears it).')
@output_options
@pass_app
def member_edit(app, case_id, name, email, institution, leader_name, leader_email, share, lang,
                note, as_json):
    """Correct what was entered wrong about a member or candidate; audited, old → new.

    The state does not change. The rules of a proposal are checked again for what changes
    (an institution for the seat's region, not the host…); an edit that breaks one is refused
    and nothing is stored. A corrected email: the case's unsent mail to the old address is
    cancelled, its open links die, and the message of the case's current step goes again,
    with a fresh link, to the new address. A closed case takes only a name or email typo.

    \b
    Examples:
      appointer --as kari@helse-nord.no member edit 12 --email nina.berg@unn.no
      appointer --as kari@helse-nord.no member edit 12 --institution "Nordlandssykehuset HF"
    """
    from appointer import appointments, corrections

    with app.transaction() as tx:
        case, changes, warnings = corrections.edit_member(
            tx, case_id, app.actor(tx.session), name=name, email=email, institution=institution,
            leader_name=leader_name, leader_email=leader_email, share=share, lang=lang,
            note=note)
        for w in warnings:
            warn(w)
        data = appointments.case_dict(tx.session, case)
    data["changes"] = {k: list(v) for k, v in changes.items()}
    emit(as_json, data, f"case {case.id}: {case.state}; corrected " + "; ".join(
        f"{k}: {old or '(none)'} → {new or '(none)'}" for k, (old, new) in changes.items()))


@member.command("absence")
@click.argument("case_id", type=ID)
@click.option("--since", metavar="YYYY-MM-DD", help="The first day of the absence.")
@click.option("--clear", is_flag=True, help="The member is back: clear the absence.")
@output_options
@pass_app
def member_absence(app, case_id, since, clear, as_json):
    """Record that an appointed member is absent, or back (--clear).

    An absence longer than APPOINTER_LONG_ABSENCE_DAYS (default 90) is long absence: the
    group is flagged and the service and the region reminded to replace the member.

    \b
    Examples:
      appointer --as kari@helse-nord.no member absence 12 --since 2026-01-10
      appointer --as kari@helse-nord.no member absence 12 --clear
    """
    from appointer import groups
    from appointer.cli._common import parse_day

    if bool(since) == bool(clear):
        raise click.UsageError("give either --since YYYY-MM-DD or --clear")
    day = parse_day(since, "--since") if since else None
    with app.transaction() as tx:
        case = groups.set_absence(tx, case_id, day, app.actor(tx.session))
    emit(as_json, {"id": case.id, "state": case.state, "absent_since": case.absent_since},
         f"member {case.id}: " + (f"absent since {case.absent_since.isoformat()}"
                                  if case.absent_since else "back (no absence recorded)"))


@member.command("show")
@click.argument("case_id", type=ID)
@output_options
@pass_app
def member_show(app, case_id, as_json):
    """Show a case: the candidate, the seat, the state and what can happen next.

    \b
    Example:
      appointer member show 12
    """
    from appointer import appointments

    with app.transaction() as tx:
        case = appointments.get_case(tx.session, case_id)
        data = appointments.case_dict(tx.session, case, appointments.load_workflow(tx), tx)
    rows = [("state", data["state"]), ("service", f"{data['service_id']} {data['service']}"),
            ("seat", data["seat"]), ("appointed by", data["appointing_region"]),
            ("candidate", f"{data['candidate_name'] or '-'} <{data['candidate_email'] or '-'}>"),
            ("institution", data["institution"] or "-"),
            ("leader", f"{data['leader_name'] or '-'} <{data['leader_email'] or '-'}>"),
            ("share", data["share"] or "(not stated)"), ("represents", data["represents"] or "-"),
            ("since", _oslo(data["state_since"])), ("next", ", ".join(data["allowed"]) or "(final)")]
    if data["appointed_on"]:
        rows.insert(-2, ("appointed", data["appointed_on"]))
    if data["note"]:
        rows.append(("note", data["note"]))
    if data["absent_since"]:
        rows.append(("absent", f"since {data['absent_since']} (`member absence {case_id} "
                               "--clear` when back)"))
    if data["end_reason"]:
        rows.append(("ended", f"{data['ended_on']}: {data['end_reason']}"))
    emit(as_json, data, f"Case {data['id']}\n" + "\n".join(f"  {k:<12} {v}" for k, v in rows))


@member.command("list")
@click.option("--service", "service_ref", help="Only this service (id or name).")
@click.option("--state", help="Only cases in this state.")
@click.option("--region", help="Only cases appointed by this region.")
@output_options
@pass_app
def member_list(app, service_ref, state, region, as_json):
    """List appointment cases.

    \b
    Example:
      appointer member list --region nord --state ready
    """
    from sqlmodel import select

    from appointer import appointments, reference
    from appointer.models import Appointment

    with app.transaction() as tx:
        q = select(Appointment).order_by(Appointment.id)
        if service_ref:
            q = q.where(Appointment.service_id == reference.find_service(tx.session, service_ref).id)
        if state:
            q = q.where(Appointment.state == state)
        if region:
            q = q.where(Appointment.appointing_region ==
                        reference.find_region(tx.session, region).code)
        data = [appointments.case_dict(tx.session, c) for c in tx.session.exec(q)]
    emit(as_json, data, table(
        [[d["id"], d["state"], d["service_id"], d["seat"], d["candidate_name"] or "-"]
         for d in data], ["id", "state", "service", "seat", "candidate"]))


@member.command("history")
@click.argument("case_id", type=ID)
@output_options
@pass_app
def member_history(app, case_id, as_json):
    """The audit history of a case: who did what, when, from which state to which.

    Imports, corrections (old → new) and the unsent mail a step cancelled are shown too.

    \b
    Example:
      appointer member history 12 --json
    """
    from appointer import appointments, audit
    from appointer.clock import to_oslo

    with app.transaction() as tx:
        appointments.get_case(tx.session, case_id)
        rows = audit.history(tx.session, "appointment", case_id)
    data = [{"id": r.id, "state": r.to_state, "at": r.at, "recorded_at": r.recorded_at,
             "actor": r.actor,
             "actor_kind": r.actor_kind, "trigger": r.trigger, "from": r.from_state,
             "to": r.to_state, "comment": r.comment, "evidence": r.evidence,
             "details": audit.describe(r.evidence)} for r in rows]
    emit(as_json, data, table(
        [[to_oslo(d["at"]).strftime("%Y-%m-%d %H:%M"), d["actor"], d["trigger"],
          f"{d['from'] or '—'} → {d['to']}",
          "; ".join(x for x in (d["comment"], d["details"]) if x)] for d in data],
        ["when (Oslo)", "who", "trigger", "change", "comment"]))


@member.command("import")
@click.argument("path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and report; store nothing.")
@output_options
@pass_app
def member_import(app, path, dry_run, as_json):
    """Register the members reference groups already have, from a CSV file: all, or nothing.

    Each row becomes a case in `appointed`, audited as imported (file and line); no email is
    sent. Columns (header row; comma or semicolon; UTF-8). Required: service (id or name),
    seat (as --seat of `member propose`), name, email, appointed_on (YYYY-MM-DD, or YYYY-MM
    / YYYY where only that is known). Optional: institution (required for regional and
    service seats), share, leader_name, leader_email, lang (nb|en), group_leader (yes|no),
    note. A row that cannot be right (unknown service, seat or institution, a bad address, a
    date that is impossible or in the future, a seat twice or already held) rejects the
    file: every error is listed by line and column (exit 1). So does a row whose seat the
    importer may not appoint: a coordinator registers their region's seats, an admin any
    (a whole register's take-over). A composition rule of the core mandate broken in the
    past is a warning for that group.

    \b
    Examples:
      appointer --as kari@helse-nord.no member import members.csv --dry-run
      appointer --as kari@helse-nord.no member import members.csv
    """
    from pathlib import Path

    from appointer.member_import import import_members

    text = read_csv_file(path)
    with app.transaction() as tx:
        report = import_members(tx, text, source=Path(path).name, dry_run=dry_run,
                                actor=app.actor(tx.session))
    data = report.as_dict()
    if as_json:
        emit(True, data)
        if report.errors:
            raise click.exceptions.Exit(1)
        return
    for e in report.errors:
        click.echo(f"line {e['line']}, column {e['column']}: {e['reason']}", err=True)
    if report.errors:
        lines = len({e["line"] for e in report.errors})
        raise click.ClickException(f"{len(report.errors)} error(s) in {lines} of {report.rows} "
                                   f"rows of {Path(path).name}; nothing stored")
    for w in report.warnings:
        where = f"line {w['line']}: " if w["line"] else ""
        warn(f"service {w['service_id']} ({w['service']}): {where}{w['warning']}")
    groups = len({a["service_id"] for a in report.added})
    verb = "would import" if dry_run else "imported"
    emit(False, data, f"{verb} {len(report.added)} members of {groups} reference groups from "
                      f"{Path(path).name}" + ("; nothing stored (dry run)" if dry_run else ""))
