"""groups, agenda, calendar, remind: oversight across all services, and the cron run."""

from __future__ import annotations

import click

from appointer.cli._common import debug_traceback, emit, output_options, pass_app, table

WITHIN_HELP = "How far ahead: 60d, 8w, 3m (late items are always listed)."


def _region_code(session, region):
    if not region:
        return None
    from appointer.reference import find_region

    return find_region(session, region).code


@click.command()
@click.option("--gaps", is_flag=True, help="Only groups that break a rule.")
@click.option("--region", help="Only what a region must act on (code or name).")
@output_options
@pass_app
def groups(app, gaps, region, as_json):
    """List reference groups and the rules they break.

    Checks every group with the same rules as `group show`: vacant seats, the group leader
    (missing, or from a region where the service is located), more than one member from a
    region, long absence, and a calendar year without a meeting.

    \b
    Examples:
      appointer groups --gaps
      appointer groups --gaps --region vest --json
    """
    from appointer import appointments
    from appointer import groups as groups_mod

    with app.transaction(write=False) as tx:
        code = _region_code(tx.session, region)
        data = groups_mod.overview(tx.session, appointments.load_workflow(tx).seat_states(),
                                   app.clock.today(), app.settings, region=code, only_gaps=gaps)
    if as_json:
        emit(True, data)
        return
    if gaps:
        lines = []
        for g in data:
            svc = g["service"]
            lines.append(f"{svc['id']} {svc['name']} ({', '.join(svc['regions'])})")
            lines += [f"  - {p}" for p in g["problems"]]
        click.echo("\n".join(lines) if lines else "No group breaks a rule.")
        return
    click.echo(table([[g["id"], g["state"], len(g["problems"]), ", ".join(g["service"]["regions"]),
                       g["service"]["name"]] for g in data],
                     ["id", "state", "problems", "regions", "service"]))


@click.command()
@click.option("--region", help="Only this region's items (code or name).")
@click.option("--within", default="60d", show_default=True, help=WITHIN_HELP)
@click.option("--backlog", is_flag=True,
              help="Only the backlog: deadlines that had passed before Appointer knew of the "
                   "service (never reminded; shown once in the weekly digest).")
@click.option("--lang", type=click.Choice(["nb", "en"]),
              help="Language of the text (default: the `lang` setting); JSON stays as it is.")
@output_options
@pass_app
def agenda(app, region, within, backlog, lang, as_json):
    """What is due, late or coming: the list the reminder run and the weekly digest use.

    Appointment cases waiting past their time, group problems, the yearly group meeting, the
    services' lifecycle deadlines and incomplete register entries, with when each was or
    will be reminded. A deadline that had already passed when Appointer first knew of its
    service (an imported register, the first reminder run) is backlog: it is never
    reminded, the next weekly digest lists it once, and `--backlog` lists it (JSON:
    "backlog": true).

    \b
    Examples:
      appointer agenda --region nord
      appointer --today 2026-08-15 agenda --within 30d --json
      appointer agenda --backlog --region vest
      appointer agenda --lang en
    """
    from appointer import agenda as agenda_mod
    from appointer import agenda_text, terms
    from appointer.errors import InvalidInput

    try:
        days = agenda_mod.parse_within(within)
    except InvalidInput as exc:
        raise click.BadParameter(str(exc), param_hint="--within") from exc
    with app.transaction(write=False) as tx:
        code = _region_code(tx.session, region)
        ag = agenda_mod.build(tx.session, app.settings, app.clock.today())
        items = ag.select(code, days, backlog=backlog)
    today = app.clock.today()
    data = [i.as_dict(today) for i in items]
    if as_json:
        emit(True, data, "")
        return
    lang = lang or app.settings.lang
    what = agenda_text.describe(items, app.settings, today, lang)
    rows = []
    for d, text in zip(data, what, strict=True):
        nxt = d["next_reminder"]
        rows.append([agenda_text.day(lang, d["due_on"]), agenda_text.status(lang, d["state"]),
                     ", ".join(terms.region(lang, r) for r in d["regions"]),
                     f"{d['service_id']} {d['service']}", text,
                     agenda_text.day(lang, nxt["on"] if nxt else None)])
    emit(False, data, table(rows, terms.term(lang, "agenda.headers"),
                            wrap={2: 16, 3: 30, 4: 44}))


@click.group()
def calendar():
    """Deadlines as a calendar (iCalendar) for Outlook and other clients."""


@calendar.command("export")
@click.option("--region", help="Only this region's deadlines (code or name).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output.")
@click.option("--lang", type=click.Choice(["nb", "en"]),
              help="Language of the events' text (default: the `lang` setting).")
@pass_app
def calendar_export(app, region, output, lang):
    """Write every open deadline as an iCalendar file (all-day events).

    UIDs are stable: re-exporting updates events in a subscribed calendar instead of
    duplicating them; deadlines that are met drop out.

    \b
    Examples:
      appointer calendar export --region vest > deadlines.ics
      appointer calendar export -o /srv/www/appointer/deadlines.ics
      appointer calendar export --lang en > deadlines-en.ics
    """
    from appointer import agenda as agenda_mod
    from appointer import agenda_text, ics

    with app.transaction(write=False) as tx:
        code = _region_code(tx.session, region)
        ag = agenda_mod.build(tx.session, app.settings, app.clock.today())
        items = ag.select(code)
        name = "Appointer" + (f" – {ag.register.region_name(code)}" if code else "")
    lang = lang or app.settings.lang
    texts = agenda_text.describe(items, app.settings, app.clock.today(), lang)
    data = ics.export(items, app.clock.now(), app.settings.base_url, name, texts, lang)
    if output:
        with open(output, "wb") as fh:
            fh.write(data)
    else:
        click.echo(data, nl=False)  # bytes go to the binary stream


@click.command()
@click.option("--dry-run", is_flag=True, help="Show what would be queued; change nothing.")
@click.option("-v", "--verbose", is_flag=True,
              help="List each queued message (with its address) on standard output.")
@output_options
@pass_app
def remind(app, dry_run, verbose, as_json):
    """Queue every reminder that is due and not yet sent (run it from cron).

    Candidates, leaders, services and group leaders get a reminder of their own when a step
    comes due; coordinators and region contacts get one weekly digest of everything due or
    late in their region. Each reminder is sent once per case, rule and due day, however often
    this runs; after a gap it sends one per case and rule. `appointer mail send` delivers.

    Prints one line on standard error (counts only, no names); exit 0 when the run succeeded,
    even with nothing to do; 1 with the reason otherwise.

    \b
    Examples:
      appointer remind --dry-run -v
      appointer --today 2026-09-01 remind --json
    """
    import time

    from appointer import remind as remind_mod
    from appointer.errors import AppointerError

    started = time.perf_counter()
    try:
        result = remind_mod.run_once(app.settings, app.clock, dry_run=dry_run)
    except (AppointerError, click.ClickException):
        raise
    except Exception as exc:  # one line for cron mail, never a traceback with data in it
        debug_traceback(app)
        raise click.ClickException(f"remind failed: {_reason(exc)}") from exc
    took = time.perf_counter() - started
    verb = "would queue" if dry_run else "queued"
    click.echo(f"appointer remind {result['today'].isoformat()}: {verb} {result['reminders']} "
               f"reminder(s) and {result['digests']} digest(s); {result['already_sent']} already "
               f"sent, {result['for_digest']} for the weekly digest; {result['items']} items "
               f"checked in {took:.2f} s", err=True)
    if as_json:
        emit(True, result)
    elif dry_run or verbose:
        rows = [[m["outbox_id"] if not dry_run else "-", m["template"], m["role"], m["to"],
                 ", ".join(sorted({r["rule"] for r in m["reminders"]}))[:60]]
                for m in result["messages"]]
        click.echo(table(rows, ["outbox", "template", "role", "to", "rules"]))


def _reason(exc: BaseException) -> str:
    """The first line of an error, without SQL parameters (which may hold addresses)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


@click.command()
@click.option("--limit", type=click.IntRange(1, 10**9), help="Deliver at most this many messages.")
@output_options
@pass_app
def tick(app, limit, as_json):
    """The one cron line: queue the due reminders, then deliver the outbox.

    Equivalent to `appointer remind && appointer mail send`, except that mail already queued is
    delivered even when the reminder run fails. One line on standard error for cron mail
    (counts only, no names); exit 0 when both succeeded, 1 with the reasons otherwise, and 3
    when both ran but some message failed for good in this run (`appointer mail list
    --failed` shows them; the coordinators' next weekly digest lists them).

    \b
    Example (crontab, Oslo time):
      CRON_TZ=Europe/Oslo
      */15 * * * *  cd /srv/appointer && .venv/bin/appointer tick
    """
    from appointer import remind as remind_mod
    from appointer.mail.sender import send_outbox

    problems, reminded = [], None
    try:
        reminded = remind_mod.run_once(app.settings, app.clock)
    except Exception as exc:  # deliver what is queued anyway; say why afterwards
        debug_traceback(app)
        problems.append(f"remind failed: {_reason(exc)}")
    try:
        report = send_outbox(app.settings, app.clock, limit)
    except Exception as exc:
        debug_traceback(app)
        report = None
        problems.append(f"mail send failed: {_reason(exc)}")
    if report is not None and report.error:
        problems.append(f"mail: {report.error}; {report.not_attempted} message(s) stay queued")
    line = f"appointer tick {app.clock.today().isoformat()}:"
    if reminded is not None:
        line += f" queued {reminded['reminders']} reminder(s), {reminded['digests']} digest(s);"
    if report is not None:
        line += f" sent {report.sent}, retry {report.retry}, failed {report.failed}"
    click.echo(line, err=True)
    emit(as_json, {"id": app.clock.today().isoformat(), "state": "failed" if problems else "ok",
                   "remind": None if reminded is None else {
                       k: reminded[k] for k in ("reminders", "digests", "already_sent")},
                   "mail": None if report is None else report.as_dict(),
                   "problems": problems})
    if problems:
        raise click.ClickException("; ".join(problems))
    if report is not None:
        from appointer.cli.mail import exit_if_failed

        exit_if_failed(report)
