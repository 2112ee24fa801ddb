"""Settings from the environment and an optional TOML config file.

Precedence: command-line option > environment variable > config file > default.
The config file is `APPOINTER_CONFIG`, else `./appointer.toml` if present; its keys are the
environment names without the `APPOINTER_` prefix, in lower case (`smtp_host = "..."`).
"""

from __future__ import annotations

import functools
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    db: str = "appointer.sqlite"
    workflows_dir: str = str(ROOT / "workflows")
    templates_dir: str = str(ROOT / "mail_templates")
    lang: str = "nb"
    # mail
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_tls: str = "none"  # none | starttls | tls
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_timeout: float = 30.0
    smtp_connections: int = 8  # a remote relay pays off with more; Exchange Online allows 3
    mail_from: str = "Appointer <appointer@localhost>"
    # links
    base_url: str = "http://127.0.0.1:8000"
    # reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated;
    # none by default: the client address is the socket peer's)
    trusted_proxies: str = ""
    token_days: int = 30
    # database durability: FULL survives a power cut; NORMAL only an application crash
    sqlite_synchronous: str = "FULL"
    # lifecycle: who decides on applications (the Ministry since 2024; the guide, `002` §4.1,
    # names Helsedirektoratet with a copy to the Ministry), and the yearly round's dates as
    # MM-DD: the region's application to the service environment (in the year before the
    # round), the joint application, the deciding body's feedback (both in the round year),
    # and the date the RHFs must have every service's annual report.
    deciding_body: str = "Helse- og omsorgsdepartementet"
    deciding_body_copy: str = ""
    round_internal_deadline: str = "08-31"
    round_send_deadline: str = "01-15"
    round_feedback_deadline: str = "12-01"
    annual_report_deadline: str = "03-15"
    # the annual report cycle (MM-DD in the year after the report year): the service's part
    # and the group's part were staggered in the guide (`001`: 10 February, 1 March); eRapport
    # now gives both the same deadline — set both to the same date for that. Then the regional
    # assessment and the feedback to each service. `report_from`: which services owe a report
    # for a year: "year_after" establishment (`002` §4.4, the default) or "establishment_year"
    # (the wording: established before or during the year).
    report_service_deadline: str = "02-10"
    report_group_deadline: str = "03-01"
    # the regional members' parts feed the group's part: the seeds give them no date of their
    # own (the group's, by default); an earlier date staggers the parts that depend on them
    report_regional_deadline: str = "03-01"
    report_assessment_deadline: str = "05-01"
    report_feedback_deadline: str = "06-01"
    report_from: str = "year_after"
    # oversight and the reminder run (`appointer remind`); case reminders come from the
    # workflow files (remind_after_days, escalate_after_days)
    long_absence_days: int = 90  # an absence this long is "long absence" (`000` §3)
    meeting_due: str = "09-01"  # MM-DD: no meeting recorded this year by then is reminded
    group_remind_after_days: int = 14  # a group problem is reminded this long after it arose…
    group_remind_every_days: int = 30  # …and again this often while it lasts
    digest_weekday: int = 1  # ISO weekday of the coordinators' weekly digest (1 = Monday)
    # how far ahead a date typed in may lie (a planned date; events may not be in the future
    # at all): a date beyond it is a typing error (see clock.py)
    date_horizon_years: int = 5
    # who is acting (issue 12): "claimed" takes --as / APPOINTER_ACTOR at its word (a laptop,
    # the demo); "os" proves it: the operating-system account running the command, mapped to
    # a coordinator by `coordinator add --login` (docs/deployment-shared-server.md)
    identity: str = "claimed"

    @property
    def db_url(self) -> str:
        return db_url(self.db)


MONTH_DAYS = ("round_internal_deadline", "round_send_deadline", "round_feedback_deadline",
              "annual_report_deadline", "report_service_deadline", "report_group_deadline",
              "report_regional_deadline",
              "report_assessment_deadline", "report_feedback_deadline")


def month_day(value: str, name: str = "date") -> tuple[int, int]:
    """A yearly date written MM-DD (`01-15`) as (month, day). 29 February is refused: a
    yearly deadline must exist every year."""
    import datetime as dt

    try:
        month, day = (int(part) for part in value.strip().split("-"))
        dt.date(2001, month, day)  # not a leap year
    except ValueError:
        raise ValueError(f"{name} must be a yearly date written MM-DD (e.g. 01-15), not "
                         f"{value!r}") from None
    return month, day


@functools.lru_cache(maxsize=64)
def db_url(value: str) -> str:
    """A path becomes a SQLite URL; anything with '://' is taken as an SQLAlchemy URL."""
    if "://" in value:
        return value
    return "sqlite:///" + str(Path(value).expanduser().resolve())


_INT = {"smtp_port", "token_days", "smtp_connections", "long_absence_days",
        "group_remind_after_days", "group_remind_every_days", "digest_weekday",
        "date_horizon_years"}
_FLOAT = {"smtp_timeout"}


def _coerce(name: str, value):
    if name in _INT:
        return int(value)
    if name in _FLOAT:
        return float(value)
    return str(value)


def load(config_file: str | None = None, env: dict | None = None, **overrides) -> Settings:
    env = os.environ if env is None else env
    values: dict = {}
    path = config_file or env.get("APPOINTER_CONFIG")
    if path is None and Path("appointer.toml").exists():
        path = "appointer.toml"
    names = {f.name for f in fields(Settings)}
    if path:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        unknown = set(data) - names - {"smtp_password_file"}
        if unknown:
            raise ValueError(f"unknown setting(s) in {path}: {', '.join(sorted(unknown))}")
        if "smtp_password_file" in data:
            values["smtp_password"] = Path(data.pop("smtp_password_file")).read_text().strip()
        values.update({k: _coerce(k, v) for k, v in data.items()})
    for name in names:
        key = "APPOINTER_" + name.upper()
        if key in env and env[key] != "":
            values[name] = _coerce(name, env[key])
    if env.get("APPOINTER_SMTP_PASSWORD_FILE"):
        values["smtp_password"] = Path(env["APPOINTER_SMTP_PASSWORD_FILE"]).read_text().strip()
    values.update({k: _coerce(k, v) for k, v in overrides.items() if v is not None})
    s = Settings(**values)
    if s.smtp_tls not in ("none", "starttls", "tls"):
        raise ValueError(f"APPOINTER_SMTP_TLS must be none, starttls or tls, not {s.smtp_tls!r}")
    _check_oversight(s)
    if any(c in s.mail_from for c in "\r\n\0"):
        raise ValueError("APPOINTER_MAIL_FROM must be one line (it holds a line break); write "
                         "it as: Name <address@example.no>")
    parse_proxies(s.trusted_proxies)
    if s.lang not in ("nb", "en"):
        raise ValueError(f"APPOINTER_LANG must be nb or en, not {s.lang!r}")
    for name in MONTH_DAYS:
        month_day(getattr(s, name), "APPOINTER_" + name.upper())
    if s.identity not in ("claimed", "os"):
        raise ValueError(f"APPOINTER_IDENTITY must be claimed or os, not {s.identity!r}")
    if s.report_from not in ("year_after", "establishment_year"):
        raise ValueError("APPOINTER_REPORT_FROM must be year_after or establishment_year, not "
                         f"{s.report_from!r}")
    return s


def parse_proxies(text: str) -> list:
    """APPOINTER_TRUSTED_PROXIES, `10.0.0.5, 192.168.1.0/24, ::1`, as networks; ValueError
    names the bad entry."""
    import ipaddress

    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"APPOINTER_TRUSTED_PROXIES: {part!r} is not an IP address or "
                             "network (e.g. 127.0.0.1, 10.0.0.0/8)") from None
    return out


def meeting_due_on(settings: Settings, year: int):
    """The date in `year` by which a reference group should have met (APPOINTER_MEETING_DUE)."""
    import datetime as dt

    month, _, day = settings.meeting_due.partition("-")
    return dt.date(year, int(month), int(day))


def _check_oversight(s: Settings) -> None:
    try:
        meeting_due_on(s, 2024)  # a leap year, so 02-29 passes here and is checked below
    except ValueError:
        raise ValueError(f"APPOINTER_MEETING_DUE must be MM-DD, e.g. 09-01, not {s.meeting_due!r}"
                         ) from None
    if s.meeting_due == "02-29":
        raise ValueError("APPOINTER_MEETING_DUE cannot be 02-29 (not every year has it)")
    if not 1 <= s.digest_weekday <= 7:
        raise ValueError(f"APPOINTER_DIGEST_WEEKDAY must be 1 (Monday) to 7 (Sunday), "
                         f"not {s.digest_weekday}")
    if not 0 <= s.date_horizon_years <= 50:
        raise ValueError("APPOINTER_DATE_HORIZON_YEARS must be 0 to 50 (years ahead a planned "
                         f"date may lie), not {s.date_horizon_years}")
    if s.long_absence_days < 1 or s.group_remind_every_days < 1 or s.group_remind_after_days < 0:
        raise ValueError("APPOINTER_LONG_ABSENCE_DAYS and APPOINTER_GROUP_REMIND_EVERY_DAYS must "
                         "be at least 1, APPOINTER_GROUP_REMIND_AFTER_DAYS at least 0")


__all__ = ["Settings", "load", "replace", "db_url", "ROOT"]
