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


    Then it starts a local SMTP server and delivers the emails all this caused to it, over real
    SMTP, into a Maildir in --dir/mail (never to your configured server).

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
    status = demo_mod.run(settings, app.clock, log=log)
    status["mail"] = demo_mod.deliver_to_sink(settings, app.clock, out / "mail")
    emit(as_json, status, "\n" + render_group(status) + f"\n\nDatabase: {db_path}\n\n"
         + demo_mod.render_mail_summary(status["mail"]))
