"""appointer mail …: the outbox (send, list, retry), previews, and a local SMTP sink."""

from __future__ import annotations

import click

from appointer.cli._common import ID, emit, output_options, pass_app, table, warn


@click.group()
def mail():
    """Deliver, inspect and preview the emails every step queues.

    Each change of a case writes its emails to the outbox in the same transaction;
    `appointer mail send` (and the cron tick) delivers them over SMTP, configured with
    APPOINTER_SMTP_HOST, APPOINTER_SMTP_PORT, APPOINTER_SMTP_TLS (none|starttls|tls),
    APPOINTER_SMTP_USER, APPOINTER_SMTP_PASSWORD or APPOINTER_SMTP_PASSWORD_FILE,
    APPOINTER_MAIL_FROM, APPOINTER_SMTP_TIMEOUT and APPOINTER_SMTP_CONNECTIONS (or the same keys,
    lower case without the prefix, in the config file).

    \b
    Example (try it locally):
      appointer mail sink --port 8025 &      # a local SMTP server writing a Maildir
      APPOINTER_SMTP_PORT=8025 appointer mail send
      appointer mail list
    """


@mail.command("send")
@click.option("--limit", type=click.IntRange(1, 10**9), help="Send at most this many messages.")
@output_options
@pass_app
def mail_send(app, limit, as_json):
    """Deliver the queued emails that are due.

    Sends over several reused connections at once (APPOINTER_SMTP_CONNECTIONS). Temporary
    failures (connection lost, timeouts, 4xx) are queued again with backoff; permanent ones (5xx,
    every recipient refused) are marked failed with the server's answer, and the rest still go.
    If the server cannot be reached, nothing is lost: the messages stay queued, and the command
    says why and exits 1. Safe to run from cron while another run is going: each message is
    claimed by one run only, and each outcome is stored as soon as the server answers, so a
    crash sends again at most the messages that were on the wire.

    Exit status (for cron): 0 every message sent or waiting to be retried; 3 some message
    failed for good in this run (the line says how many; `appointer mail list --failed` shows
    them, and the region's coordinators get them in their next weekly digest); 1 the run
    could not finish (the reason is printed).

    \b
    Example:
      appointer mail send
      appointer mail send --limit 100 --json
    """
    from appointer.mail.sender import send_outbox

    try:
        report = send_outbox(app.settings, app.clock, limit)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    text = (f"sent {report.sent}, to retry later {report.retry}, failed {report.failed} "
            f"({report.seconds:.1f} s)")
    if report.partial:
        text += f"; {report.partial} sent with a note (`appointer mail list`)"
    emit(as_json, report.as_dict(), text)
    if not as_json:
        for p in report.problems:
            warn(f"message {p['id']} {p['outcome']}: {p['reason']}")
    if report.error:
        raise click.ClickException(
            f"{report.error}; {report.not_attempted} message(s) stay queued for the next run")
    exit_if_failed(report)


def exit_if_failed(report) -> None:
    """Exit 3 when some message failed for good in this run (see `mail send --help`)."""
    if report.failed:
        click.echo(f"Error: {report.failed} message(s) failed permanently in this run; see "
                   "`appointer mail list --failed`", err=True)
        click.get_current_context().exit(FAILED_EXIT)


FAILED_EXIT = 3  # some message failed for good: documented for cron in `mail send --help`


@mail.command("list")
@click.option("--failed", "failed_only", is_flag=True, help="Only the messages that failed.")
@click.option("--all", "everything", is_flag=True,
              help="Also the sent and the cancelled messages (mail that no longer applied).")
@output_options
@pass_app
def mail_list(app, failed_only, everything, as_json):
    """Show the messages not yet sent (queued and failed), and how old the oldest queued one is.

    A queued message older than a few minutes means mail is stuck: check the SMTP settings and
    the output of `appointer mail send`.

    \b
    Example:
      appointer mail list
      appointer mail list --failed --json
      appointer mail list --all
    """
    from appointer.outbox import queue_status

    with app.transaction(write=False) as tx:
        data = queue_status(tx.session, tx.clock.now(), failed_only=failed_only,
                            everything=everything)
    c = data["counts"]
    head = f"Outbox: {c['queued']} queued"
    if data["oldest_queued_age_seconds"] is not None:
        head += f" (oldest {_age(data['oldest_queued_age_seconds'])} old)"
    head += f", {c['sent']} sent, {c['failed']} failed"
    if c.get("cancelled"):
        head += f", {c['cancelled']} cancelled"
    rows = [[m["id"], m["status"] + (" (sending)" if m["being_sent"] else ""), ", ".join(m["to"]),
             m["template"], m["attempts"], _when(m["next_attempt_at"]), m["last_error"]]
            for m in data["messages"]]
    text = head + "\n\n" + table(rows, ["id", "status", "to", "template", "attempts",
                                        "next try", "last error"])
    if data["more"]:
        text += f"\n(and {data['more']} more)"
    emit(as_json, data, text)


@mail.command("retry")
@click.argument("ids", metavar="[ID]...", nargs=-1, type=ID)
@click.option("--failed", "all_failed", is_flag=True, help="Every failed message.")
@output_options
@pass_app
def mail_retry(app, ids, all_failed, as_json):
    """Queue messages again, due now, with a fresh count of attempts.

    For a failed message whose cause is fixed (a relay that refused us), or a queued one you
    want tried before its backoff ends. A message already sent, or cancelled, is refused. (A
    mistyped address is corrected with `appointer member edit`, which sends the case's
    message again to the new address by itself.)

    \b
    Example:
      appointer --as kari@helse-nord.no mail retry 42
      appointer --as kari@helse-nord.no mail retry --failed && appointer mail send
    """
    from appointer.outbox import retry

    if bool(ids) == all_failed:
        raise click.UsageError("give message ids, or --failed for every failed message")
    with app.transaction() as tx:
        rows = retry(tx, list(ids), all_failed=all_failed, actor=app.actor(tx.session))
        done = [r.id for r in rows]
    text = (f"queued again: {', '.join(map(str, done))}; `appointer mail send` delivers them"
            if done else "no failed messages")
    emit(as_json, {"queued": done}, text)


@mail.command("preview")
@click.argument("template")
@click.option("--case", "case_id", required=True, help="The case whose data fills the message.")
@click.option("--lang", type=click.Choice(["nb", "en"]), help="Language (default: the recipient's).")
@click.option("--html", "show_html", is_flag=True, help="Print the HTML part instead of the text.")
@output_options
@pass_app
def mail_preview(app, template, case_id, lang, show_html, as_json):
    """Render a message for a case without sending or storing anything.

    The recipient is the first of those the workflow file names for this message; a link in it
    is a placeholder.

    \b
    Example:
      appointer mail preview appointment.candidate.invitation --case 3
      appointer mail preview appointment.member.letter --case 3 --lang en --html > letter.html
    """
    from appointer.mail.preview import preview

    with app.transaction(write=False) as tx:
        data = preview(tx, template, case_id, lang)
    others = len(data["recipients"]) - 1
    to = data["to"] + (f" (and {others} more)" if others > 0 else "")
    body = data["html"] if show_html else data["text"]
    text = body.rstrip("\n") if show_html else (
        f"To: {to}\nSubject: {data['subject']}\n\n{body.rstrip()}")
    emit(as_json, data, text)


@mail.command("sink")
@click.option("--dir", "directory", default="mail-sink", show_default=True,
              type=click.Path(file_okay=False), help="The Maildir to write received mail to.")
@click.option("--port", type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1 (0: any free one) [default: APPOINTER_SMTP_PORT, 8025].")
@pass_app
def mail_sink(app, directory, port):
    """Run a local SMTP server that keeps every message in a Maildir, until Ctrl-C.

    For trying Appointer out and for the demo: nothing leaves the machine. Open the Maildir with
    any mail client (`mutt -f DIR`), or read DIR/new/*: each file is one plain email.

    \b
    Example:
      appointer mail sink --dir ./mail --port 8025
      # in another terminal:
      APPOINTER_SMTP_PORT=8025 appointer mail send
    """
    import signal
    import threading

    from appointer.mail.sink import Sink

    # Ctrl-C and `kill` stop it cleanly, also when it was started from a script as a
    # background job (which starts with SIGINT ignored, so Python would never raise it)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop_sink)

    port = app.settings.smtp_port if port is None else port
    sink, seen, stop = Sink(port=port, directory=directory), 0, threading.Event()
    try:  # (a signal at any moment from here on stops it cleanly)
        try:
            sink.start()
        except OSError as exc:
            raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc}") from exc
        click.echo(f"SMTP sink on 127.0.0.1:{sink.port}, writing a Maildir to {directory}")
        click.echo(f"Send to it with: APPOINTER_SMTP_HOST=127.0.0.1 APPOINTER_SMTP_PORT="
                   f"{sink.port} APPOINTER_SMTP_TLS=none appointer mail send")
        click.echo("Ctrl-C stops it.")
        while not stop.wait(0.2):
            with sink.lock:
                new = sink.received[seen:]
            for item in new:
                seen += 1
                click.echo(f"  {seen}: {item.message['Subject']}")
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()
    click.echo(f"stopped; {seen} message(s) in {directory}")


def _stop_sink(_signum, _frame):
    raise KeyboardInterrupt


def _age(seconds: int) -> str:
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if days:
        return f"{days} d {hours % 24} h"
    if hours:
        return f"{hours} h {minutes % 60} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


def _when(moment) -> str:
    if moment is None:
        return ""
    from appointer.clock import to_oslo

    return to_oslo(moment).strftime("%Y-%m-%d %H:%M")
