"""What every command shares: the App (settings, clock, actor, one transaction per command),
the `--json` output switch, the argument types for ids and dates (`ID`, `DAY`), and the one
error boundary: every exception becomes one `Error: …` line (exit 1; exit 2 for bad
arguments), the full traceback only with `--debug`.

Only click and the standard library are imported at module level (start-up time)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json

import click


class App:
    def __init__(self, db=None, today=None, actor=None, config_file=None, env=None,
                 debug=False):
        self.debug = debug
        self._db = db
        self._today = today
        self.actor_email = actor
        self._config_file = config_file
        self._env = env
        self._settings = None

    @property
    def settings(self):
        if self._settings is None:
            from appointer import settings

            try:
                self._settings = settings.load(self._config_file, env=self._env, db=self._db)
            except (ValueError, OSError) as exc:
                raise click.ClickException(f"settings: {exc}") from exc
        return self._settings

    @functools.cached_property
    def clock(self):
        from appointer.clock import TODAY_WINDOW, Clock, parse_date

        if not self._today:
            return Clock()
        try:
            return Clock(parse_date(self._today, *TODAY_WINDOW))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--today") from exc

    def transaction(self, check_schema: bool = True, write: bool = True):
        """One unit of work; `write=False` for a command that only reads (it does not wait
        for the write lock)."""
        from appointer.db import transaction

        return transaction(self.settings, self.clock, check_schema=check_schema, write=write)

    # The operating-system account running the command, from the kernel's effective user
    # id (not $USER or $LOGNAME, which the caller sets): what proves who acts when
    # identity = "os". A class attribute, so a deployment with another notion of login
    # can replace it.
    @staticmethod
    def os_login() -> str:
        import os
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name

    def _login_or_uid(self) -> str:
        import os

        try:
            return self.os_login()
        except KeyError:  # a uid with no account entry (some containers)
            return f"uid {os.geteuid()}"

    def actor(self, session):
        """Who acts: the coordinator --as names (identity "claimed"), or the one mapped to
        the OS account running the command (identity "os", where --as is refused)."""
        import dataclasses

        from appointer.appointments import resolve_actor

        if self.settings.identity == "database":
            return self._login_actor(session)
        if self.settings.identity != "os":  # the claim, and the account that made it
            actor = resolve_actor(session, self.actor_email)
            return dataclasses.replace(actor, evidence={
                **actor.evidence, "identity": "claimed", "login": self._login_or_uid()})

        from appointer.errors import Forbidden
        from appointer.reference import coordinator_by_login

        if self.actor_email:
            raise Forbidden("identity is \"os\": --as / APPOINTER_ACTOR is not accepted; you "
                            "act as the account you are logged in as")
        login = self.os_login()
        row = coordinator_by_login(session, login)
        if row is None:
            raise Forbidden(f"the account {login!r} is not mapped to a coordinator; an admin "
                            f"maps it with `appointer coordinator add … --login {login}`")
        actor = resolve_actor(session, row.email)
        return dataclasses.replace(actor, evidence={**actor.evidence, "login": login})

    def _login_actor(self, session):
        """Identity "database": the coordinator whose PostgreSQL login runs the command."""
        import dataclasses

        from appointer.appointments import resolve_actor
        from appointer.dbroles import login_email
        from appointer.errors import Forbidden

        if self.actor_email:
            raise Forbidden("identity is \"database\": --as / APPOINTER_ACTOR is not accepted; "
                            "you act as the coordinator of your database login")
        login, email = login_email(session)
        if email is None:
            raise Forbidden(f"the database login {login!r} belongs to no active coordinator; "
                            "`appointer db roles` lists each coordinator's login")
        actor = resolve_actor(session, email)
        return dataclasses.replace(actor, evidence={**actor.evidence, "db_login": login})


pass_app = click.make_pass_decorator(App)


def output_options(fn):
    """The one output switch every read (and change) command shares."""
    return click.option("--json", "as_json", is_flag=True,
                        help="Print JSON (for scripts) instead of text.")(fn)


def _default(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


class PositiveId(click.ParamType):
    """An id: a positive integer in ASCII digits that the database can hold. (click's INT and
    Python's int() also take '١' (Arabic-Indic one) as 1, '1_0' as 10 and ' +1' as 1.)"""

    name = "ID"

    def convert(self, value, param, ctx):
        from appointer.text import ID_MAX, parse_id

        number = parse_id(value)
        if number is None:
            self.fail(f"{_shown(str(value))} is not an id (a whole number from 1 to {ID_MAX}, "
                      "such as 12)", param, ctx)
        return number


ID = PositiveId()


class Day(click.ParamType):
    """A YYYY-MM-DD date within the window of appointer.clock: not before EARLIEST, and at
    most `date_horizon_years` after the day acted on (a rule may refuse any future date)."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        import datetime as dt

        from appointer.clock import EARLIEST, horizon, in_window, parse_date

        try:
            day = value if isinstance(value, dt.date) else parse_date(str(value))
            app = ctx.find_object(App) if ctx is not None else None
            if app is not None:
                last = horizon(app.clock.today(), app.settings.date_horizon_years)
                in_window(day, EARLIEST, last)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return day


DAY = Day()


class PartialDay(click.ParamType):
    """YYYY-MM-DD, or YYYY-MM / YYYY where only that is known: (first day, precision), in
    the same window as DAY (the whole period must start within it)."""

    name = "YYYY[-MM[-DD]]"

    def convert(self, value, param, ctx):
        from appointer.clock import EARLIEST, horizon, in_window, parse_partial_date

        if isinstance(value, tuple):
            return value
        try:
            day, precision = parse_partial_date(str(value))
            app = ctx.find_object(App) if ctx is not None else None
            if app is not None:
                in_window(day, EARLIEST, horizon(app.clock.today(), app.settings.date_horizon_years))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return day, precision


PARTIAL_DAY = PartialDay()


def parse_day(text: str, option: str):
    """A YYYY-MM-DD option value (as DAY checks it), or a usage error (exit 2) naming it."""
    ctx = click.get_current_context(silent=True)
    try:
        return DAY.convert(text, None, ctx)
    except click.BadParameter as exc:
        exc.param_hint = option
        raise


def _shown(text: str) -> str:
    from appointer.text import shown

    return shown(text, 30)


def emit(as_json: bool, data, text: str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_default))
    elif text is not None:
        click.echo(text)


def warn(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


def table(rows: list[list], headers: list[str], wrap: dict[int, int] | None = None) -> str:
    """Rows in aligned columns; `wrap` {column: width} wraps those columns' text onto more
    lines (whole words, nothing cut off)."""
    if not rows:
        return "(none)"
    cells = [[("" if c is None else str(c)) for c in row] for row in [headers, *rows]]
    if wrap:
        import textwrap

        cells = [[textwrap.wrap(c, wrap[i], break_on_hyphens=False) or [""]
                  if i in wrap else [c] for i, c in enumerate(r)] for r in cells]
    else:
        cells = [[[c] for c in r] for r in cells]
    widths = [max(len(line) for r in cells for line in r[i]) for i in range(len(headers))]
    lines = []
    for r in cells:
        for k in range(max(len(c) for c in r)):
            lines.append("  ".join((c[k] if k < len(c) else "").ljust(w)
                                   for c, w in zip(r, widths, strict=True)).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@contextlib.contextmanager
def translate_errors(debug: bool = False):
    """The one error boundary: click's own exceptions pass (they print `Error: …` and exit 2
    for bad arguments, 1 otherwise); every other exception becomes one `Error: …` line from
    `describe`, exit 1. With `debug`, the full traceback goes to standard error first."""
    try:
        yield
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except KeyboardInterrupt:
        raise click.exceptions.Abort() from None
    except Exception as exc:
        debug_traceback(debug)
        from appointer.errors import describe

        raise click.ClickException(describe(exc)) from None



def debug_traceback(debug) -> None:
    """With --debug (`debug` is the flag, or the App): the traceback of the exception being
    handled, on stderr. For commands that turn a failure into their own message (cron runs)."""
    if getattr(debug, "debug", debug) is True:
        import traceback

        click.echo(traceback.format_exc().rstrip(), err=True)


def read_csv_file(path: str) -> str:
    """An import file's text, or one Error line saying it is not UTF-8 (exit 1)."""
    from pathlib import Path

    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{path} is not UTF-8 text (save the CSV as UTF-8)") from None
