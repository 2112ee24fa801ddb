"""The `appointer` command line: thin over the library.

Subcommands live one module per concern and are imported only when used, so that `--help`
starts fast (importing sqlmodel is most of a command's start-up, bench/startup_bench.py;
command modules import it inside their function bodies). Domain errors become `Error: …`
with exit 1; bad arguments exit 2.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys

import click

from appointer.cli._common import App

# name -> "module:attribute", in the order `--help` lists them
COMMANDS = {
    "init": "appointer.cli.setup:init",
    "demo": "appointer.cli.demo:demo",
    "coordinator": "appointer.cli.setup:coordinator",
    "region": "appointer.cli.setup:region",
    "institution": "appointer.cli.setup:institution",
    "service": "appointer.cli.service:service",
    "member": "appointer.cli.member:member",
    "group": "appointer.cli.group:group",
    "groups": "appointer.cli.oversight:groups",
    "agenda": "appointer.cli.oversight:agenda",
    "calendar": "appointer.cli.oversight:calendar",
    "remind": "appointer.cli.oversight:remind",
    "tick": "appointer.cli.oversight:tick",
    "report": "appointer.cli.report:report",
    "workflow": "appointer.cli.workflow:workflow",
    "serve": "appointer.cli.serve:serve",
    "db": "appointer.cli.database:db",
    "audit": "appointer.cli.audit:audit",


    "mail": "appointer.cli.mail:mail",
}


def _exit_quickly() -> None:
    """When the process ends: close the database connections, then take every object still
    alive (SQLAlchemy's, pydantic's, the command's) out of the interpreter's final garbage
    collections. Those collections tear down the whole heap object by object only for the
    OS to take the memory back a moment later (bench/remind_bench.py times whole commands).
    The connections are closed first and explicitly, so
    SQLite still checkpoints and removes its -wal and -shm files as it did on teardown."""
    db = sys.modules.get("appointer.db")
    if db is not None:
        db.dispose_all()
    gc.freeze()


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def parse_args(self, ctx, args):
        for n, arg in enumerate(args, 1):
            if any("\udc80" <= c <= "\udcff" for c in arg):  # bytes that were not UTF-8
                raise click.UsageError(f"argument {n} is not UTF-8 text (check the terminal's "
                                       "or the script's encoding)", ctx)
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        from appointer.cli._common import translate_errors

        with translate_errors(debug=bool(ctx.params.get("debug"))):
            return super().invoke(ctx)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                              "max_content_width": 100})
@click.option("--db", envvar="APPOINTER_DB", metavar="PATH|URL",
              help="SQLite file or SQLAlchemy URL [env APPOINTER_DB; default ./appointer.sqlite]")
@click.option("--today", envvar="APPOINTER_TODAY", metavar="YYYY-MM-DD",
              help="The date to act on (every deadline rule uses it) [env APPOINTER_TODAY; "
                   "default: today in Europe/Oslo]")
@click.option("--as", "actor", envvar="APPOINTER_ACTOR", metavar="EMAIL",
              help="The coordinator acting [env APPOINTER_ACTOR]")
@click.option("--config", "config_file", envvar="APPOINTER_CONFIG", metavar="FILE",
              type=click.Path(dir_okay=False),
              help="A TOML settings file [env APPOINTER_CONFIG; default ./appointer.toml if present]")
@click.option("--debug", is_flag=True, envvar="APPOINTER_DEBUG",
              help="On an error, also write the full traceback to standard error (it may show "
                   "names and addresses).")
@click.version_option(package_name="appointer")
@click.pass_context
def main(ctx, db, today, actor, config_file, debug):
    """Appointer: reference-group appointments and service deadlines for the RHFs.

    Every case (a seat of a reference group, a service's lifecycle) is a state machine; each
    step is audited and emails the people concerned.

    \b
    Example (a fresh start):
      appointer init --admin kari@helse-nord.no --admin-name "Kari Nord" --admin-region nord
      export APPOINTER_ACTOR=kari@helse-nord.no
      appointer coordinator add --email ola@helse-vest.no --name "Ola Vest" --region vest
      appointer service add --name "Nasjonal behandlingstjeneste for X" --kind national \\
          --hf "Oslo universitetssykehus HF" --leader-name "Per" --leader-email per@ous-hf.no
      appointer member propose 1 --seat region:nord --name … --email …
    """
    ctx.obj = App(db=db, today=today, actor=actor, config_file=config_file, env=os.environ,
                  debug=debug)
    atexit.unregister(_exit_quickly)  # once, however often main runs in one process (tests)
    atexit.register(_exit_quickly)
