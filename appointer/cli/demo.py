"""appointer demo: build one realistic reference group end to end and print it."""

from __future__ import annotations

from pathlib import Path

import click

from appointer.cli._common import emit, output_options, pass_app


@click.command()
@click.option("--dir", "out_dir", default="demo-out", show_default=True,
              type=click.Path(file_okay=False),
              help="Where the demo's database (and emails) go; emptied first.")
@output_options
@pass_app
def demo(app, out_dir, as_json):
    """Build one realistic reference group end to end and print it.

    Uses its own SQLite file in --dir (never your --db): registers coordinators in all four
    regions, a national treatment service at Oslo universitetssykehus HF, proposes a member
    for every seat, walks each through accept → consent → appoint, and designates the leader.
    Then imports the register of existing national services (appointer/data) and has Helse
    Nord apply for a new service and submit it.

    A local SMTP server runs meanwhile: the emails each step causes are delivered to it over
    real SMTP as the demo goes (as `appointer tick` would between real steps), into a Maildir
    in --dir/mail (never to your configured server).

    \b
    Example:
      appointer demo
    """
    from appointer import demo as demo_mod
    from appointer import settings as settings_mod
    from appointer.cli.group import render_group

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / "appointer-demo.sqlite"
    from appointer import db

    db.dispose_all()  # an engine cached on a previous demo's file must not outlive it
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    settings = settings_mod.replace(app.settings, db=str(db_path))
    log = (lambda line: None) if as_json else click.echo
    with demo_mod.MailToSink(settings, app.clock, out / "mail") as mail:
        status = demo_mod.run(settings, app.clock, log=log, after_step=mail.deliver)
        status["mail"] = mail.summary()
    emit(as_json, status, "\n" + render_group(status) + f"\n\nDatabase: {db_path}\n\n"
         + demo_mod.render_mail_summary(status["mail"]))
