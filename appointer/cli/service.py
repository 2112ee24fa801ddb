"""appointer service …: national services and their lifecycle, from application to phase-out."""

from __future__ import annotations

import functools

import click

from appointer.cli._common import (
    DAY,
    PARTIAL_DAY,
    emit,
    output_options,
    pass_app,
    read_csv_file,
    table,
    warn,
)

KINDS = ["national", "multiregional", "competence", "centre", "network"]


class _Kind(click.ParamType):
    """A kind by its code or its official label ("nasjonal kompetansetjeneste")."""

    name = "KIND"

    def convert(self, value, param, ctx):
        from appointer.errors import InvalidField
        from appointer.services import parse_kind

        try:
            return parse_kind(value)
        except InvalidField as exc:
            self.fail(str(exc), param, ctx)


KIND = _Kind()
KIND_HELP = ("national (treatment, one HF) | multiregional (two HFs in two regions) | "
             "competence | centre | network, or the official label (\"nasjonal "
             "kompetansetjeneste\")")


def _shape(fn, hosts_required: bool = True):
    """--kind, --hf and --function: what a service is and where (checked together)."""
    for option in reversed([
        click.option("--kind", required=True, type=KIND, help=KIND_HELP),
        click.option("--hf", "hosts", multiple=True, required=hosts_required,
                     metavar="INSTITUTION",
                     help="Host institution (exact name, orgnr or alias such as OUS); "
                          "twice for multiregional." + ("" if hosts_required else
                                              " Leave out while unknown.")),
        click.option("--function", type=click.Choice(["training", "competence_building"]),
                     help="Competence services: training (5-year term) or "
                          "competence_building (10)."),
    ]):
        fn = option(fn)
    return fn


DATE = DAY  # (the name the date options here were written with)


PARTIAL_DATE = PARTIAL_DAY
# `service add` options for the historic dates: option name -> Service column
DATE_OPTIONS = {
    "submitted": "submitted_on", "prioritised": "prioritised_on", "sent": "sent_on",
    "approved": "approved_on", "rejected": "rejected_on", "established": "established_on",
    "last_evaluated": "last_evaluated_on", "continued": "continued_on",
    "change_step": "change_step_on",
    "phase_out_initiated": "phase_out_initiated_on",
    "reorganisation_decided": "reorganisation_decided_on", "phased_out": "phased_out_on",
}
OUTCOMES = ["discontinue", "network", "centre", "other"]
CONTINUATIONS = ["new_term", "centre", "network", "other"]


def _dated(fn):
    for option in reversed(DATE_OPTIONS):
        what = ("Date of the last step of a change in the round (requested, submitted, "
                "prioritised or sent)" if option == "change_step"
                else f"Date it was {option.replace('_', ' ')}")
        fn = click.option("--" + option.replace("_", "-"), option, type=PARTIAL_DATE,
                          help=f"{what} (YYYY-MM or YYYY where only that is known).")(fn)
    return fn


def option_of(field: str) -> str:
    """A service's field as `service add` / `service edit` spell it."""
    names = {v: k for k, v in DATE_OPTIONS.items()}
    names.update(reorganisation_outcome="outcome", predecessors="predecessor")
    return "--" + names.get(field, field).replace("_", "-")


def _by_option(fn):
    """Run `fn`; a rule about one field is reported with the option that gives it."""
    from appointer.errors import InvalidField

    try:
        return fn()
    except InvalidField as exc:
        raise click.ClickException(f"{option_of(exc.field)}: {exc}") from exc


@click.group()
def service():
    """National services (treatment, multiregional, competence), centres and networks.

    \b
    The lifecycle (see `appointer workflow show lifecycle`):
      apply → draft → submit → submitted → prioritise → prioritised → send → sent
        (deprioritise → deprioritised → revise → draft; withdraw)
      sent → approve → approved → establish → established   (reject: final, no appeal)
      established: evaluate, request_change → approve_change | reject_change
      initiate_phase_out → decide_reorganisation --outcome … → complete_phase_out
    """


@service.command("add")
@click.option("--name", required=True, help="The approved Norwegian name.")
@click.option("--name-en", help="The approved English name.")
@functools.partial(_shape, hosts_required=False)
@click.option("--leader-name", required=True, help="The service's leader.")
@click.option("--leader-email", required=True)
@click.option("--lang", type=click.Choice(["nb", "en"]), help="Language of its emails.")
@click.option("--state", default="established", show_default=True,
              help="Its lifecycle state now (see `appointer workflow show lifecycle`).")
@_dated
@click.option("--outcome", type=click.Choice(OUTCOMES),
              help="For reorganisation_decided or phased_out: what was decided.")
@click.option("--continuation", type=click.Choice(CONTINUATIONS),
              help="With --continued: the decision after a competence service's term.")
@click.option("--requested-by", help="Who asked for the application.")
@click.option("--predecessor", "predecessors", metavar="SERVICE", multiple=True,
              help="A service this one continues (repeat for a merger).")
@click.option("--note", help="A remark or the source of what is registered; shown with it.")
@output_options
@pass_app
def service_add(app, name, name_en, kind, hosts, function, leader_name, leader_email, lang,
                state, outcome, continuation, requested_by, predecessors, note, as_json,
                **dates):
    """Register a service that already exists, as it stands (running by default).

    Give the dates its state needs: --established for a running service (without it no
    deadline can be computed), --approved for an approved one, and so on; a date known only
    to the year or month is given so (--approved 2011), and deadlines computed from it are
    approximate. A date that does not fit the state, a date after today or dates out of
    order are refused. Without --hf (or --function for a competence service) the value is
    unknown: the service is shown as incomplete until `service edit` completes it.
    Registering is kept in the service's history and sends no email.

    \b
    Examples:
      appointer --as kari@helse-nord.no service add \\
          --name "Nasjonal behandlingstjeneste for epilepsikirurgi" \\
          --kind national --hf "Oslo universitetssykehus HF" --established 2014-01-01 \\
          --leader-name "Per Hansen" --leader-email per.hansen@ous-hf.no
      appointer --as kari@helse-nord.no service add \\
          --name "Flerregional behandlingstjeneste for X" --kind multiregional \\
          --hf "Oslo universitetssykehus HF" --hf "Helse Bergen HF" --state approved \\
          --approved 2025-12-10 --leader-name … --leader-email …
    """
    from appointer.reference import find_service
    from appointer.services import missing_text, register_service, summary

    given = {DATE_OPTIONS[k]: v for k, v in dates.items() if v is not None}
    with app.transaction() as tx:
        actor = app.actor(tx.session)
        before = [find_service(tx.session, p).id for p in predecessors]
        row, warnings = _by_option(lambda: register_service(
            tx, name=name, name_en=name_en, kind=kind, hosts=list(hosts), function=function,
            leader_name=leader_name, leader_email=leader_email, lang=lang, state=state,
            requested_by=requested_by, predecessors=before, actor=actor, note=note,
            reorganisation_outcome=outcome, continuation=continuation,
            date_precision={f: p for f, (_, p) in given.items()},
            **{f: d for f, (d, _) in given.items()}))
        data = summary(tx.session, row)
    for w in warnings:
        warn(w)
    text = f"service {row.id}: {row.state} ({row.name})"
    text += f" at {_hosts(data)}" if data["hosts"] else ""
    if data["missing"]:
        text += f"; incomplete: {missing_text(row.id, data['missing'])}"
    emit(as_json, data, text)


@service.command("apply")
@click.option("--name", required=True, help="The name applied for (Norwegian).")
@click.option("--name-en", help="The English name applied for.")
@_shape
@click.option("--requested-by", metavar="WHO",
              help="Who asked the RHF to apply: a patient organisation, a professional "
                   "community, an authority.")
@click.option("--leader-name", help="The intended leader of the service, if known.")
@click.option("--leader-email")
@click.option("--lang", type=click.Choice(["nb", "en"]), help="Language of the leader's emails.")
@click.option("--comment", help="Kept in the history and the emails.")
@output_options
@pass_app
def service_apply(app, name, name_en, kind, hosts, function, requested_by, leader_name,
                  leader_email, lang, comment, as_json):
    """Start the application for a new or changed service (state draft).

    Only a coordinator of the region that is to host the service may apply: that RHF takes
    on establishing and running it. The four RHFs are told.

    \b
    Example:
      appointer --as kari@helse-nord.no service apply \\
          --name "Nasjonal behandlingstjeneste for avansert X" --kind national \\
          --hf "Universitetssykehuset Nord-Norge HF" --requested-by "Norsk X-forening"
    """
    from appointer import lifecycle

    with app.transaction() as tx:
        fired = lifecycle.apply(tx, name=name, name_en=name_en, kind=kind, hosts=list(hosts),
                                function=function, requested_by=requested_by,
                                leader_name=leader_name, leader_email=leader_email, lang=lang,
                                actor=app.actor(tx.session), comment=comment)
        data = _details(tx, fired.case)
    emit(as_json, data, f"service {data['id']}: {data['state']} ({data['name']}) at "
                        f"{_hosts(data)}; " + _next_text(data))


def _hosts(data) -> str:
    """The host institutions as stored (the full names `--hf` was resolved to)."""
    return " and ".join(h["institution"] for h in data["hosts"])


@service.command("advance")
@click.argument("service_ref", metavar="SERVICE")
@click.argument("trigger")
@click.option("--date", "day", type=DATE, help="When it happened (default: today).")
@click.option("--comment", help="Why, or what; kept in the history and the emails.")
@click.option("--outcome", type=click.Choice(sorted({*OUTCOMES, *CONTINUATIONS})),
              help="decide_reorganisation: discontinue | network | centre | other; "
                   "continue: new_term | centre | network | other.")
@click.option("--successor-name", help="--outcome network|centre: the new record's name.")
@click.option("--successor-name-en", help="… and its English name.")
@click.option("--new-name", help="request_change: the new Norwegian name applied for.")
@click.option("--new-name-en", help="request_change: the new English name.")
@click.option("--decision-ref", metavar="REF",
              help="approve, reject, approve_change, reject_change, decide_reorganisation, "
                   "complete_phase_out: the deciding body's decision they record (its "
                   "reference; its date is --date). Required for them.")
@output_options
@pass_app
def service_advance(app, service_ref, trigger, day, comment, outcome, successor_name,
                    successor_name_en, new_name, new_name_en, decision_ref, as_json):
    """Fire a lifecycle trigger on a service (by id or exact name).

    \b
    Triggers: submit, prioritise, deprioritise, revise, withdraw, send, approve, reject,
    establish, evaluate, continue, request_change, approve_change, reject_change,
    initiate_phase_out, decide_reorganisation, complete_phase_out. Refused, with what is allowed, when the
    service is not in a state for it. The decisions (approve, reject, approve_change,
    reject_change, decide_reorganisation, complete_phase_out) are the deciding body's acts
    (a setting; the Ministry since 2024): a coordinator records them with --decision-ref. The date is recorded on the service; it may not be
    after today or before a date the service already has. The four RHFs and the service's
    leader are told.

    \b
    Examples:
      appointer --as kari@helse-nord.no service advance 12 submit --date 2026-08-28
      appointer --as ola@helse-vest.no service advance 12 send --date 2027-01-14
      appointer --as ola@helse-vest.no service advance 12 approve --date 2027-06-20 \\
          --decision-ref "HOD 27/1234"
      appointer --as kari@helse-nord.no service advance 12 request_change \\
          --new-name "Nasjonal behandlingstjeneste for Y" --new-name-en "National Service for Y"
      appointer --as ola@helse-vest.no service advance 7 decide_reorganisation \\
          --outcome network --successor-name "Nasjonalt kvalitets- og kompetansenettverk for Z" \\
          --decision-ref "HOD 28/77"
      appointer --as ola@helse-vest.no service advance 9 continue --date 2029-11-20 \\
          --outcome new_term
    """
    from appointer import lifecycle

    with app.transaction() as tx:
        fired, warnings = lifecycle.advance(
            tx, service_ref, trigger, app.actor(tx.session), date=day, comment=comment,
            outcome=outcome, successor_name=successor_name, successor_name_en=successor_name_en,
            new_name=new_name, new_name_en=new_name_en, decision_ref=decision_ref)
        data = _details(tx, fired.case)
    for w in warnings:
        warn(w)
    text = f"service {data['id']}: {data['state']} ← {fired.from_state} by {trigger}; "
    for s in data["successors"]:
        if fired.trigger == "decide_reorganisation":
            text += f"successor service {s['id']}: {s['state']} ({s['name']}); "
    emit(as_json, data, text + _next_text(data))


def _details(tx, row) -> dict:
    from appointer.services import details

    return details(tx, row)


def _next_text(data) -> str:
    due = next((d for d in data["deadlines"] if not d["done"]), None)
    text = "next: " + (", ".join(data["allowed"]) or "nothing (final)")
    if due:
        text += f"; due {due['due_text']}: {due['label']}" + (" (overdue)" if due["overdue"] else "")
    return text


@service.command("list")
@click.option("--state", help="Only services in this lifecycle state.")
@click.option("--kind", type=KIND, help="Only this kind (code or label).")
@click.option("--region", help="Only services hosted in this region (code or name).")
@click.option("--overdue", is_flag=True, help="Only services with a deadline passed and not met.")
@click.option("--due-within", type=click.IntRange(max=36500), metavar="DAYS",
              help="Only services with a deadline in the next DAYS days.")
@click.option("--incomplete", is_flag=True,
              help="Only services whose record lacks what its rules need (host, function).")
@output_options
@pass_app
def service_list(app, state, kind, region, overdue, due_within, incomplete, as_json):
    """List services with their next deadline (the earliest not yet met).

    \b
    Examples:
      appointer service list --state approved
      appointer service list --kind competence --due-within 365
      appointer service list --overdue --json
      appointer service list --incomplete
    """
    from appointer.deadlines import next_due
    from appointer.services import deadline_dict, find_services, summary

    with app.transaction() as tx:
        today = tx.clock.today()
        rows = find_services(tx, state=state, kind=kind, region=region, overdue=overdue,
                             due_within=due_within)
        data = []
        for row, dls in rows:
            due = next_due(dls)
            item = {**summary(tx.session, row),
                    "next_deadline": deadline_dict(due, today) if due else None}
            if not incomplete or item["missing"]:
                data.append(item)
    emit(as_json, data, table(
        [[d["id"], d["state"], d["kind"],
          " + ".join(h["institution"] for h in d["hosts"]) or "(unknown)",
          _due_cell(d["next_deadline"]), d["name"]]
         + ([", ".join(d["missing"])] if incomplete else []) for d in data],
        ["id", "state", "kind", "host", "next deadline", "name"]
        + (["missing"] if incomplete else [])))


def _due_cell(due) -> str:
    if due is None:
        return ""
    from appointer import terms

    return (f"{due['due_text']} {terms.term('en', 'deadline.' + due['rule'], default=due['rule'])}"
            + (" (overdue)" if due["overdue"] else ""))


@service.command("show")
@click.argument("service_ref", metavar="SERVICE")
@output_options
@pass_app
def service_show(app, service_ref, as_json):
    """Show one service (by id or exact name): its state, every recorded and computed date,
    names, patient volumes, predecessor and successors, and its history.

    \b
    Example:
      appointer service show 3
      appointer --today 2027-01-10 service show 3 --json
    """
    from appointer.cli.service_render import render_details
    from appointer.reference import find_service

    with app.transaction() as tx:
        data = _details(tx, find_service(tx.session, service_ref))
    emit(as_json, data, render_details(data))


@service.command("volume")
@click.argument("service_ref", metavar="SERVICE")
@click.option("--year", type=click.IntRange(1990, 2100), required=True,
              help="The year counted.")
@click.option("--patients", type=click.IntRange(0, 10**7), required=True,
              help="New patients (or procedures) that year.")
@output_options
@pass_app
def service_volume(app, service_ref, year, patients, as_json):
    """Record a treatment service's yearly patient volume.

    20–200 new patients or procedures a year is the normal volume; below 20 (consider a
    supranational solution) or above 200 (consider splitting the function) is flagged (003).

    \b
    Example:
      appointer --as kari@helse-nord.no service volume 3 --year 2025 --patients 17
    """
    from appointer.services import record_volume

    with app.transaction() as tx:
        row, before, flag = record_volume(tx, service_ref, year, patients,
                                          app.actor(tx.session))
        data = {"id": row.service_id, "state": "flagged" if flag else "normal", "year": year,
                "patients": patients, "replaced": before, "flag": flag}
    if flag:
        warn(flag)
    emit(as_json, data, f"service {row.service_id}: {year}: {patients} new patients"
                        + (f" (replaces {before})" if before is not None else ""))


@service.command("import")
@click.argument("path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and report; store nothing.")
@output_options
@pass_app
def service_import(app, path, dry_run, as_json):
    """Take over a register of existing services from a CSV file: every row, or nothing.

    \b
    Columns (header row; comma or semicolon; UTF-8). Required: name, kind (code or the
    official label, e.g. "nasjonal kompetansetjeneste"). Optional: hf (host; two
    separated by ";"; empty = unknown), hf2, name_en, function (empty = unknown),
    leader_name, leader_email, lang, state (default established), requested_by, the dates
    submitted_on, prioritised_on, sent_on, approved_on, rejected_on, established_on,
    last_evaluated_on, continued_on, change_step_on (a change's last step),
    phase_out_initiated_on, reorganisation_decided_on, phased_out_on (YYYY-MM-DD, or
    YYYY-MM / YYYY where only that is known),
    reorganisation_outcome, continuation, predecessors (names of the services it continues,
    ";" between them), previous_names ("Old name@2020-01-01; Older@2015"), note (or source).
    What is unknown is listed by `service list --incomplete`. Every error of every row is
    listed by line and column, and then nothing is stored (exit 1).

    \b
    Examples:
      appointer --as kari@helse-nord.no service import services.csv --dry-run
      appointer --as kari@helse-nord.no service import services.csv
    """
    from pathlib import Path

    from appointer.service_import import import_services
    from appointer.text import printable

    text = read_csv_file(path)
    with app.transaction() as tx:
        actor = app.actor(tx.session)
        report = import_services(tx, text, source=Path(path).name, dry_run=dry_run, actor=actor)
    data = report.as_dict()
    if not as_json:
        for w in report.warnings:
            warn(f"line {w['line']} ({printable(w['name'])}): {w['warning']}")
        for r in report.rejected:
            where = f"line {r['line']}" + (f", column {r['column']}" if r["column"] else "")
            click.echo(f"Error: {where}: {r['reason']}", err=True)
        if not report.rejected:
            for a in report.added:
                hosts = f"at {' and '.join(a['hosts'])}" if a["hosts"] else "(host unknown)"
                click.echo(f"line {a['line']}: {a['name']} {hosts}")
    verb = "would register" if dry_run else "registered"
    incomplete = sum(1 for a in report.added if a["missing"])
    if report.rejected:
        bad = len({r["line"] for r in report.rejected})
        text = (f"{len(report.rejected)} errors in {bad} of {report.rows} rows; nothing stored")
    else:
        text = f"{verb} {len(report.added)} services from {Path(path).name}"
        if incomplete:
            text += (f"; {incomplete} incomplete (host or function unknown): see `appointer "
                     "service list --incomplete`")
    emit(as_json, data, text)
    if report.rejected:
        raise click.exceptions.Exit(1)


# corrections and history live in their own module (this one holds the lifecycle)
from appointer.cli.service_edit import service_edit, service_history  # noqa: E402

service.add_command(service_edit)
service.add_command(service_history)
