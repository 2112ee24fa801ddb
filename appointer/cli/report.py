"""appointer report …: the annual report cycle (workflows/annual_report.toml)."""

from __future__ import annotations

import click

from appointer.cli._common import ID, emit, output_options, parse_day, pass_app, table


@click.group()
def report():
    """The annual reports: open a year, record parts, approve, submit, assess, give feedback."""


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _fired(fired, what: str) -> tuple[dict, str]:
    case = fired.case
    return ({"id": case.id, "state": fired.to_state, "trigger": fired.trigger,
             "service_id": case.service_id, "year": case.year, "messages": len(fired.outbox_ids)},
            f"report {case.id} ({case.year}): {what}; now {fired.to_state}"
            + (f"; {len(fired.outbox_ids)} email(s) queued" if fired.outbox_ids else ""))


@report.command("open")
@click.argument("year", type=int)
@click.option("--service", "service_ref", metavar="SERVICE",
              help="Only this service (refused if it owes no report for YEAR).")
@output_options
@pass_app
def report_open(app, year, service_ref, as_json):
    """Open report YEAR: a case for every service that owes a report, and the information
    mailing to each author (their part, the deadline) and the submitter. Running it again
    opens only what is missing and sends nothing twice.

    \b
    Example:
      appointer --as kari@helse-nord.no report open 2026
    """
    from appointer import report_steps

    with app.transaction() as tx:
        out = report_steps.open_year(tx, year, app.actor(tx.session), service_ref)
    lines = [f"report year {year}: {len(out['opened'])} opened, {len(out['existing'])} already "
             f"open, {len(out['not_owed'])} services owe none"]
    lines += [f"  opened report {r['id']}: {r['service']} ({r['messages']} email(s))"
              for r in out["opened"]]
    emit(as_json, out, "\n".join(lines))


@report.command("status")
@click.argument("year", type=int, required=False)
@click.option("--region", help="Reports of services the region hosts, and every report whose "
                               "part for the region is not done.")
@output_options
@pass_app
def report_status(app, year, region, as_json):
    """The year at a glance: per report every part with its author and state, the approval,
    submitted or not, days to the next deadline, and each missing regional part by region
    and person.

    \b
    Example:
      appointer report status 2026 --region vest
    """
    from appointer import report_views
    from appointer.report_agenda import SILENT

    with app.transaction() as tx:
        data = report_views.status(tx, year, region)
    lines = [f"Annual reports {data['year']}" + (f" ({data['region']})" if data["region"] else "")]
    for r in data["reports"]:
        nxt = r["next_deadline"]
        when = (f"; next: {nxt['what']} {nxt['on']} ({nxt['days']} days)" if nxt else "")
        sub = f"submitted {r['submitted_on']}" if r["submitted"] else "not submitted"
        appr = f"approved {r['approval']['approved_on']}" if r["approval"]["approved_on"] \
            else "not approved"
        lines += ["", f"report {r['id']}: {r['service']} — {r['state']}; {appr}; {sub}{when}"]
        lines.append(table([[p["part"], p["state"], p["author_name"] or "(no author)",
                             p["versions"], p["due_on"]] for p in r["parts"]],
                           ["part", "state", "author", "versions", "due"]))
        for flag in r["flags"]:
            lines.append(f"  flagged: {SILENT[flag]} two years running")
        for m in r["missing_regional_parts"]:
            lines.append(f"  missing: {m['region_name']} — {m['name'] or m['note']}"
                         + (f" <{m['email']}>" if m["email"] else ""))
    if not data["reports"]:
        lines.append("(no reports)")
    emit(as_json, data, "\n".join(lines))


@report.command("part")
@click.argument("report_id", type=ID, metavar="ID")
@click.argument("part")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False),
              help="The part's text (UTF-8, plain text or Markdown).")
@click.option("--done", is_flag=True, help="Mark the part done as well.")
@click.option("--delivered-elsewhere", is_flag=True,
              help="The part went in through eRapport; Appointer only tracks that it did.")
@click.option("--note", help="With --delivered-elsewhere: where and when.")
@output_options
@pass_app
def report_part(app, report_id, part, path, done, delivered_elsewhere, note, as_json):
    """Record a part (service, region:CODE or group) for its author: a new version from a
    file, or the part delivered elsewhere. Marking the group's part done asks the members to
    approve.

    \b
    Examples:
      appointer --as kari@helse-nord.no report part 7 region:nord --file nord.md --done
      appointer --as kari@helse-nord.no report part 7 service --delivered-elsewhere
    """
    from appointer import report_parts

    if (path and delivered_elsewhere) or not (path or delivered_elsewhere or done):
        raise click.UsageError("give --file (and --done), --done alone, or --delivered-elsewhere")
    with app.transaction() as tx:
        actor = app.actor(tx.session)
        if delivered_elsewhere:
            saved = report_parts.delivered_elsewhere(tx, report_id, part, actor, note)
        elif path:
            current = report_parts.get_part(tx.session, report_parts.get_report(
                tx.session, report_id), part).current_version_id
            saved = report_parts.save(tx, report_id, part, _read(path), actor, current,
                                      done=done, via="cli")
        else:
            saved = report_parts.finish(tx, report_id, part, actor)
        row = saved.part
        data = {"id": row.id, "state": row.state, "report_id": report_id, "part": row.part,
                "version": saved.version.number if saved.version else None,
                "report_state": saved.fired.to_state if saved.fired else None}
    what = f"report {report_id}, part {part}: {row.state.replace('_', ' ')}"
    if saved.version:
        what += f" (version {saved.version.number} saved)"
    if saved.fired:
        what += f"; the report is now {saved.fired.to_state} (members asked to approve)"
    emit(as_json, data, what)


@report.command("approve")
@click.argument("report_id", type=ID, metavar="ID")
@click.option("--date", "day", metavar="YYYY-MM-DD", required=True,
              help="The day the group decided (e.g. its meeting).")
@click.option("--note", help="How it was decided (e.g. 'meeting 3 March, all present').")
@output_options
@pass_app
def report_approve(app, report_id, day, note, as_json):
    """Record the group's approval of the report (the decision of its meeting, with its date).

    \b
    Example:
      appointer --as kari@helse-nord.no report approve 7 --date 2027-03-03 --note "meeting"
    """
    from appointer import report_steps

    date = parse_day(day, "--date")
    with app.transaction() as tx:
        fired = report_steps.approve(tx, report_id, app.actor(tx.session), date, note)
        data, text = _fired(fired, f"approved by the group on {date}")
    emit(as_json, data, text)


@report.command("submit")
@click.argument("report_id", type=ID, metavar="ID")
@click.option("--without-part", "without", multiple=True, metavar="PART",
              help="Submit without this (missing) regional part; needs --reason.")
@click.option("--reason", help="Why the report goes without the part(s).")
@output_options
@pass_app
def report_submit(app, report_id, without, reason, as_json):
    """Submit the approved report to the RHF (as a coordinator; the named submitter uses
    their link). Every required part must be done; a missing regional part only when named.

    \b
    Example:
      appointer --as kari@helse-nord.no report submit 7 --without-part region:nord \\
          --reason "no member appointed for Helse Nord"
    """
    from appointer import report_steps

    with app.transaction() as tx:
        fired = report_steps.submit(tx, report_id, app.actor(tx.session),
                               {p: reason or "" for p in without})
        data, text = _fired(fired, "submitted")
    emit(as_json, data, text)


@report.command("assess")
@click.argument("report_id", type=ID, metavar="ID")
@click.option("--regional", "level", flag_value="regional", help="The host region's assessment.")
@click.option("--national", "level", flag_value="national",
              help="The national assessment (interregional meeting; optional).")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), required=True,
              help="The assessment's text.")
@output_options
@pass_app
def report_assess(app, report_id, level, path, as_json):
    """Record the regional (or national) assessment of a submitted report.

    \b
    Example:
      appointer --as kari@helse-nord.no report assess 7 --regional --file assessment.md
    """
    from appointer import report_steps

    if level is None:
        raise click.UsageError("say which assessment: --regional or --national")
    with app.transaction() as tx:
        fired = report_steps.assess(tx, report_id, app.actor(tx.session), level, _read(path))
        data, text = _fired(fired, f"{level} assessment recorded")
    emit(as_json, data, text)


@report.command("feedback")
@click.argument("report_id", type=ID, metavar="ID")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), required=True,
              help="The feedback's text (emailed to the service and the group leader).")
@click.option("--follow-up", help="A point to follow up in next year's report (shown in it).")
@output_options
@pass_app
def report_feedback(app, report_id, path, follow_up, as_json):
    """Send the RHF's feedback on an assessed report to the service (by email).

    \b
    Example:
      appointer --as kari@helse-nord.no report feedback 7 --file feedback.md
    """
    from appointer import report_steps

    with app.transaction() as tx:
        fired = report_steps.give_feedback(tx, report_id, app.actor(tx.session), _read(path),
                                      follow_up)
        data, text = _fired(fired, "feedback sent")
    emit(as_json, data, text)


@report.command("export")
@click.argument("report_id", type=ID, metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md",
              show_default=True)
@pass_app
def report_export(app, report_id, fmt):
    """The report as one document: service part, regional parts in region order, group part,
    approval, submission (HTML is printable).

    \b
    Example:
      appointer report export 7 --format html > report-7.html
    """
    from appointer import report_views

    with app.transaction() as tx:
        doc = report_views.document(tx, report_id)
    click.echo(report_views.to_html(doc) if fmt == "html" else report_views.to_markdown(doc),
               nl=False)


@report.command("submitter")
@click.argument("service_ref", metavar="SERVICE")
@click.option("--name", required=True)
@click.option("--email", required=True)
@output_options
@pass_app
def report_submitter(app, service_ref, name, email, as_json):
    """Name who submits the service's annual reports (default: the service's leader); also
    set on its reports not yet submitted.

    \b
    Example:
      appointer --as kari@helse-nord.no report submitter 3 --name "Per" --email per@hf.no
    """
    from appointer import report_steps

    with app.transaction() as tx:
        data = report_steps.set_submitter(tx, service_ref, name, email, app.actor(tx.session))
    emit(as_json, data, f"service {data['id']}: reports submitted by {name}"
         + (f" (reports {', '.join(map(str, data['reports']))} updated)" if data["reports"] else ""))
