"""Input that can never work is refused at the door, in one `Error:` line, with nothing stored:
ids, dates, names and free text (issue 11); and the error boundary never shows a traceback
or the database's data unless `--debug` asks for it."""

from __future__ import annotations

import datetime as dt

import dbsql
import pytest
from conftest import ADMIN

from appointer.text import NAME_MAX, TEXT_MAX, check_name, check_text, parse_id

COORD = {code: f"coord@{code}.example" for code in ("sor-ost", "vest", "midt", "nord")}
OUS = "Oslo universitetssykehus HF"
UNN = "Universitetssykehuset Nord-Norge HF"


@pytest.fixture
def case(initialised, steps):
    """Case 1: a regional seat of service 1, proposed to nord's candidate."""
    service = steps.service()
    return steps.propose(service, "region:nord", region="nord", email="nina.berg@unn.example")


def state_of(settings, case_id) -> str:
    with dbsql.connect(settings.db) as con:
        return con.execute("SELECT state FROM appointment WHERE id = ?", (case_id,)).fetchone()[0]


def audit_rows(settings) -> int:
    with dbsql.connect(settings.db) as con:
        return con.execute("SELECT count(*) FROM auditevent").fetchone()[0]


def one_error(result) -> str:
    """The single `Error:` line of a failed command (and no traceback)."""
    assert "Traceback" not in result.output + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- the error boundary --------------------------------------------------------------------
def test_a_database_error_names_the_problem_not_the_statement(initialised, case, cli):
    """A database failure says what kind of problem it is; the statement and its parameters
    (names, addresses) appear only with --debug, which adds the traceback on stderr."""
    dbsql.refuse_inserts(initialised.db, "auditevent", "refused by a trigger")
    args = ("member", "advance", str(case), "withdraw", "--comment", "Nina Berg moved")
    result = cli(*args, actor=COORD["nord"], expect=1)
    line = one_error(result)
    said = result.output + result.stderr
    assert "database" in line and "--debug" in line
    for parameter in ("coord@nord.example", "Nina Berg moved", "INSERT"):  # its statement's
        assert parameter not in said
    debug = cli("--debug", *args, actor=COORD["nord"], expect=1)
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1] == line  # the same Error line, last
    assert state_of(initialised, case) == "proposed"


@pytest.mark.parametrize("command", [("member", "edit", "--name", "X"),
                                     ("report", "export", "--format", "md"),
                                     ("report", "approve", "--date", "2026-03-02")])
def test_every_id_argument_takes_ascii_ids_only(initialised, cli, command):
    """The later commands (member edit, the report's) read ids as `advance` does: '١' is a
    bad argument (exit 2), never id 1."""
    group, name, *rest = command
    result = cli(group, name, "١", *rest, actor=COORD["nord"], expect=2)
    assert "is not an id" in one_error(result)


def test_an_unknown_database_url_is_one_line(cli):
    """`--db foo://x` names the problem (no driver for 'foo'), exit 1, no traceback."""
    result = cli("--db", "foo://x", "member", "list", expect=1)
    assert "no driver for ('foo')" in one_error(result)


def test_cron_runs_show_the_traceback_only_with_debug(cli, tmp_path):
    """`remind` and `tick` say why they failed in one line for cron mail; the traceback only
    with --debug."""
    garbage = tmp_path / "damaged.sqlite"
    garbage.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 64)
    for command in ("remind", "tick"):
        quiet = cli("--db", str(garbage), command, expect=1)
        assert "damaged" in one_error(quiet) or "not a database" in one_error(quiet)
        loud = cli("--db", str(garbage), "--debug", command, expect=1)
        assert "Traceback (most recent call last)" in loud.stderr


def test_invalid_utf8_in_an_argument_is_a_usage_error(initialised, case, cli):
    """Bytes that are not UTF-8 (argv decoded with surrogateescape) are refused as a bad
    argument, exit 2, before anything runs."""
    result = cli("member", "advance", str(case), "withdraw", "--comment", "a\udcffb",
                 actor=COORD["nord"], expect=2)
    assert "is not UTF-8 text" in one_error(result)
    assert state_of(initialised, case) == "proposed"


def test_mail_preview_of_a_lifecycle_notice(initialised, steps, cli):
    """A lifecycle notice previews for a service (it used to fail: no transition taken)."""
    service = steps.service()
    out = cli("mail", "preview", "lifecycle.notice", "--case", str(service))
    assert out.stdout.startswith("To: ")


# -- ids -------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["١", "9223372036854775808", "0", "-1", "1_0", "+1", "²"])
def test_an_id_is_a_positive_ascii_integer_in_range(initialised, case, cli, typed):
    """'١' (Arabic-Indic one) is not case 1, and an id beyond SQLite's range is not a
    crash: both are bad arguments (exit 2), and the case is untouched."""
    result = cli("member", "advance", "--", typed, "withdraw", actor=COORD["nord"], expect=2)
    assert "is not an id" in one_error(result)
    assert state_of(initialised, case) == "proposed"


def test_lookups_by_id_refuse_non_ascii_digits(initialised, case, steps, cli):
    """Where an id or a name is accepted (a service; a case to preview), '١' is neither."""
    assert "no service '١'" in one_error(cli("service", "show", "١", expect=1))
    assert "no appointment case '١'" in one_error(
        cli("mail", "preview", "appointment.candidate.invitation", "--case", "١", expect=1))
    assert (parse_id("12"), parse_id("١"), parse_id(str(2**63)), parse_id("0")) == \
        (12, None, None, None)
    out = cli("member", "request", "1", "--seat", "user:١", actor=COORD["sor-ost"], expect=1)
    assert "the number after user: must be 1, 2" in one_error(out)


# -- dates -----------------------------------------------------------------------------------
@pytest.mark.parametrize("today", ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01",
                                   "20260302", "2026-W10-1"])
def test_today_must_be_a_plausible_day(initialised, case, cli, today):
    """--today outside 2000..2100 (or not written YYYY-MM-DD) is a bad argument: the agenda,
    the calendar and a step are refused, and no step is written."""
    cli.today = today
    before = audit_rows(initialised)
    for args in (("agenda",), ("calendar", "export"), ("member", "advance", str(case), "withdraw")):
        result = cli(*args, actor=COORD["nord"], expect=2)
        assert "--today" in one_error(result)
    assert audit_rows(initialised) == before and state_of(initialised, case) == "proposed"


def test_today_at_the_edges_of_the_window_works(initialised, cli):
    """The first and the last day of the window are usable days."""
    for today in ("2000-01-01", "2100-12-31"):
        cli.today = today
        cli("agenda")
        cli("calendar", "export")


def test_typed_dates_have_a_floor_and_a_horizon(initialised, cli, monkeypatch):
    """A date before 1990 is refused as a typing error; a date further ahead than
    date_horizon_years (default 5) too; inside the horizon, the rule decides."""
    out = cli("service", "add", "--name", "Gammel", "--kind", "national", "--hf", OUS,
              "--established", "1985-01-01", "--leader-name", "L", "--leader-email",
              "l@ous.example", expect=2, actor=ADMIN)
    assert "1985-01-01 is outside the dates Appointer accepts (1990-01-01" in one_error(out)
    far = (dt.date(2026, 3, 2) + dt.timedelta(days=6 * 366)).isoformat()
    out = cli("service", "add", "--name", "Fremtidig", "--kind", "national", "--hf", OUS,
              "--established", far, "--leader-name", "L", "--leader-email", "l@ous.example",
              expect=2, actor=ADMIN)
    assert f"{far} is outside the dates Appointer accepts (1990-01-01 to 2031-03-02)" \
        in one_error(out)
    out = cli("service", "add", "--name", "Fremtidig", "--kind", "national", "--hf", OUS,
              "--established", far, "--leader-name", "L", "--leader-email", "l@ous.example",
              expect=1, env={"APPOINTER_DATE_HORIZON_YEARS": "10"}, actor=ADMIN)
    assert "is after today" in one_error(out)  # within the horizon: the rule refuses it
    assert cli.json("service", "list") == []


# -- names and free text ---------------------------------------------------------------------
@pytest.mark.parametrize("bad, shown", [("Nina\x1b[2J", "U+001B"), ("Nina\x07", "U+0007"),
                                        ("Ni\x00na", "U+0000"), ("\u202eanin", "U+202E"),
                                        ("Nina\u2066x\u2069", "U+2066"), ("Ni\nna", "U+000A"),
                                        ("Ni\x85na", "U+0085")])
def test_names_refuse_control_and_bidi_characters(initialised, steps, cli, bad, shown):
    """A candidate's name with a control, bidi-override or line-break character is refused,
    saying which character (never printing it), and nothing is stored."""
    service = steps.service()
    out = cli("member", "propose", str(service), "--seat", "region:nord", "--name", bad,
              "--email", "nina@unn.example", "--institution", UNN, "--leader-name", "Ola",
              "--leader-email", "ola@unn.example", actor=COORD["nord"], expect=1)
    line = one_error(out)
    assert shown in line and bad not in line
    assert cli.json("member", "list") == []


def test_every_kind_of_name_and_text_is_checked(initialised, case, cli):
    """Coordinator, institution and service names, comments and reasons go through the same
    check; free text keeps newlines and tabs; lengths are limited."""
    esc = "x\x1b"
    assert "U+001B" in one_error(cli("coordinator", "add", "--email", "c@x.example", "--name",
                                     esc, "--region", "nord", expect=1, actor=ADMIN))
    assert "U+001B" in one_error(cli("institution", "add", "--name", esc, "--region", "nord",
                                     "--orgnr", "974795787", expect=1, actor=ADMIN))
    assert "U+001B" in one_error(cli("service", "add", "--name", esc, "--kind", "national",
                                     "--hf", OUS, "--established", "2015-01-01",
                                     "--leader-name", "L", "--leader-email", "l@x.example",
                                     expect=1, actor=ADMIN))
    assert "U+0007" in one_error(cli("member", "advance", str(case), "withdraw", "--comment",
                                     "ok\x07", actor=COORD["nord"], expect=1))
    assert "at most 300" in one_error(cli("coordinator", "add", "--email", "c@x.example",
                                          "--name", "n" * 301, "--region", "nord", expect=1, actor=ADMIN))
    assert state_of(initialised, case) == "proposed"
    cli("member", "advance", str(case), "withdraw", "--comment", "line one\n\tline two",
        actor=COORD["nord"])
    history = cli.json("member", "history", str(case))
    assert history[-1]["comment"] == "line one\n\tline two"
    assert check_text("t" * TEXT_MAX) and check_name("n" * NAME_MAX)


def test_a_csv_with_nul_or_a_huge_field_is_refused(initialised, cli, tmp_path):
    """A CSV with a NUL byte in a name (the row is rejected, saying why) or a 1 MB field (the
    file cannot be read: one Error line) is refused, exit 1, nothing stored, no traceback."""
    path = tmp_path / "services.csv"
    header = "name,kind,hf,established_on\n"
    path.write_text(header + "Tjeneste\x00X,national,Oslo universitetssykehus HF,2015-01-01\n",
                    encoding="utf-8")
    out = cli("service", "import", str(path), expect=1, actor=ADMIN)
    assert "line 2, column name: the service's name holds the character U+0000" in out.stderr
    assert "Traceback" not in out.stderr and "\x00" not in out.stderr
    path.write_text(header + "x" * 1_000_000 + ",national,OUS,2015-01-01\n", encoding="utf-8")
    assert "line 2: the CSV cannot be read (field larger than field limit" in one_error(
        cli("service", "import", str(path), expect=1, actor=ADMIN))
    assert cli.json("service", "list") == []
