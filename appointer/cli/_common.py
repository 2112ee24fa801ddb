"""What every command shares: the App (settings, clock, actor, one transaction per command),
the `--json` output switch, and the translation of domain errors into `Error: …`, exit 1.

Only click and the standard library are imported at module level (start-up time)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json

import click


class App:
    def __init__(self, db=None, today=None, actor=None, config_file=None, env=None):
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
        from appointer.clock import Clock, parse_date

        if not self._today:
            return Clock()
        try:
            return Clock(parse_date(self._today))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--today") from exc

    def transaction(self, check_schema: bool = True, write: bool = True):
        """One unit of work; `write=False` for a command that only reads (it does not wait
        for the write lock)."""
        from appointer.db import transaction

        return transaction(self.settings, self.clock, check_schema=check_schema, write=write)

    def actor(self, session):
        from appointer.appointments import resolve_actor

        return resolve_actor(session, self.actor_email)


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


def parse_day(text: str, option: str):
    """A YYYY-MM-DD option value, or a usage error (exit 2) naming the option."""
    from appointer.clock import parse_date

    try:
        return parse_date(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from exc


def emit(as_json: bool, data, text: str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_default))
    elif text is not None:
        click.echo(text)


def warn(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


def table(rows: list[list], headers: list[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[("" if c is None else str(c)) for c in row] for row in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@contextlib.contextmanager
def translate_errors():
    from appointer.errors import AppointerError, WorkflowError

    try:
        yield
    except AppointerError as exc:
        raise click.ClickException(str(exc)) from exc
    except WorkflowError as exc:
        raise click.ClickException(f"workflow file: {exc}") from exc

