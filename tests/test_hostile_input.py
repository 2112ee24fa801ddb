"""No input gives a traceback: every command and subcommand (enumerated from the click tree,
so a new command is walked automatically), with generated hostile arguments and the inputs
that once gave tracebacks, answers with its output or one `Error:` line, exit 0, 1 or 2, and
never with an address from the database that the caller did not type."""

from __future__ import annotations

import re
from pathlib import Path

import click
import dbsql
import pytest
from cli_tree import all_commands
from click.testing import CliRunner
from conftest import TODAY, Steps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appointer import db
from appointer import settings as settings_mod
from appointer.cli import main
from appointer.clock import Clock

COMMANDS = all_commands()

# Commands that would run until stopped (a server) or for seconds (the demo) when their
# arguments are good: walked with a last argument that is certainly refused, so that only
# their argument handling is under test here (their own tests run them).
NEVER_RUN = {"serve": ["--port", "-1"], "mail sink": ["--port", "-1"],
             "demo": ["--dir", "/dev/null/demo"]}

# The inputs that gave tracebacks before (issue 11), and their neighbours.
KNOWN_BAD = [
    "\udcff", "a\udce9b",  # bytes that were not UTF-8, as Python decodes argv
    "9223372036854775808", "99999999999999999999999", "-1", "0", "-9223372036854775809",
    "١", "١٢", "²", "1_000", "+1", " 1 ", "1e3", "0x10", "",
    "9999-12-31", "0001-01-01", "1900-01-01", "2026-02-30", "20260101", "2026-W01-1",
    "x" * 100_000, "%" * 60_000, "_%" * 30_000,
    "foo://x", "sqlite:////nonexistent/dir/x.sqlite", "/dev/null", ".",
    "Nina\x1b[31m", "Nina\x07", "a\x00b", "\u202eevil", "\u2066x\u2069", "a\nb", "\t",
    "a@b..no", "@", "coord@vest.example", "region:nord", "service:3", "user:99999999999999999999",
    "lifecycle.notice", "appointment.candidate.invitation", "withdraw", "end", "appoint",
    "60d", "99999999999d", "١d",
]

# Good values too, so that a walk gets past the first check into the commands' bodies.
PLAUSIBLE = ["1", "2", "3", "2026-03-02", "2015-01-01", "2026-01-15", "region:nord", "region:vest",
             "user", "service", "national", "multiregional", "Oslo universitetssykehus HF",
             "Helse Bergen HF", "accept", "consent", "appoint", "submit", "establish", "nb", "en",
             "Nasjonal tjeneste for test", "kari@helse-nord.example", "5 %", "30d", "json"]

hostile_text = st.one_of(
    st.sampled_from(KNOWN_BAD),
    st.sampled_from(PLAUSIBLE),
    st.text(alphabet=st.sampled_from("0123456789-:.@ /%_,;x١٢\x00\x1b\x07\n\t\u202e\u2066\udcff"),
            max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=20),
)


def _options(cmd: click.Command):
    return [p for p in cmd.params if isinstance(p, click.Option) and p.name != "help"]


@st.composite
def invocation(draw, cmd: click.Command) -> list[str]:
    """Arguments for `cmd`: every positional argument (hostile), some of its options (hostile
    values; flags as themselves), and sometimes hostile global options."""
    args: list[str] = []
    for opt in _options(cmd):
        if draw(st.booleans()):
            args.append(opt.opts[0])
            if not opt.is_flag:
                args.append(draw(hostile_text))
    for param in cmd.params:
        if isinstance(param, click.Argument):
            count = 1 if param.nargs == 1 else draw(st.integers(0 if param.nargs < 0 else
                                                                param.nargs, 2))
            args += [draw(hostile_text) for _ in range(max(count, 1 if param.required else 0))]
    before: list[str] = []
    if draw(st.booleans()):
        before += ["--as", draw(st.sampled_from(["coord@sor-ost.example", "coord@nord.example"]))]
    if draw(st.integers(0, 4)) == 0:
        before += [draw(st.sampled_from(["--today", "--db", "--as"])), draw(hostile_text)]
    return [*before, *args]


@pytest.fixture(scope="module")
def world(tmp_path_factory, _initialised_file):
    """A database with a service, cases in several states (addresses of candidates and leaders
    in it), and a folder to run in (commands that write files write there)."""
    base = tmp_path_factory.mktemp("hostile")
    path = dbsql.sibling(_initialised_file, "hostile") if dbsql.is_postgres(
        _initialised_file) else str(base / "appointer.sqlite")
    db.dispose_all()
    dbsql.clone(_initialised_file, path)
    s = settings_mod.load(env={}, db=path)
    steps = Steps(s, Clock(TODAY))
    service = steps.service()
    first = steps.propose(service, "region:vest", region="vest")
    steps.propose(service, "region:nord", region="nord", email="nina.berg@unn.example")
    steps.appoint(first, "vest")
    steps.request(service, "region:midt", region="midt")
    emails = set()
    with dbsql.connect(path) as con:
        for sql in ("SELECT email FROM coordinator", "SELECT contact_email FROM region",
                    "SELECT candidate_email FROM appointment", "SELECT leader_email FROM "
                    "appointment", "SELECT leader_email FROM service"):
            emails |= {row[0] for row in con.execute(sql) if row[0]}
    db.dispose_all()
    return {"db": path, "dir": base, "emails": emails}


def run(world, monkeypatch, path: str, argv: list[str]):
    monkeypatch.chdir(world["dir"])
    full = ["--db", world["db"], "--today", TODAY.isoformat(), *argv]
    result = CliRunner().invoke(main, full, env={"APPOINTER_SMTP_PORT": "1"})
    said = result.output + result.stderr
    where = f"appointer {' '.join(repr(a)[:60] for a in full)} ->\n{said[-2000:]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        where + f"\n{type(result.exception).__name__}: {result.exception!r}"[:500])
    assert "Traceback" not in said, where
    assert result.exit_code in (0, 1, 2), where
    typed = " ".join(argv)
    for email in world["emails"]:
        assert email in typed or email not in result.stderr, where
    if result.exit_code:  # one Error line (a usage error has its usage lines before it)
        assert len(re.findall(r"^Error: ", result.stderr, re.M)) <= 1, where
    return result


@pytest.mark.parametrize("path, cmd", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_no_traceback_from_hostile_arguments(world, monkeypatch, path, cmd):
    """Whatever a command is given, it answers or says `Error: …` (exit 0/1/2): no traceback,
    and no address from the database in its error output."""
    tail = NEVER_RUN.get(path, [])

    @settings(max_examples=8, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(invocation(cmd))
    def check(args):
        run(world, monkeypatch, path, [*path.split(), *args, *tail])

    check()


@pytest.mark.parametrize("n, path, cmd", [(n, p, c) for n, (p, c) in enumerate(COMMANDS)],
                         ids=[p for p, _ in COMMANDS])
def test_no_traceback_from_known_bad_inputs(world, monkeypatch, n, path, cmd):
    """The inputs that gave tracebacks (issue 11): the worst as every positional argument of
    every command, and the whole list spread over the commands' options."""
    tail = NEVER_RUN.get(path, [])
    positional = [p for p in cmd.params if isinstance(p, click.Argument)]
    if positional:
        for value in ("9223372036854775808", "١", "x" * 100_000):
            run(world, monkeypatch, path, [*path.split(), *[value] * len(positional), *tail])
    args = ["1"] * len(positional)
    for i, opt in enumerate(o for o in _options(cmd) if not o.is_flag):
        value = KNOWN_BAD[(n * 7 + i) % len(KNOWN_BAD)]
        run(world, monkeypatch, path, [*path.split(), *args, opt.opts[0], value, *tail])


@pytest.fixture(scope="module")
def damaged(world, tmp_path_factory):
    """Database files that are not whole: garbage bytes, and the world's file cut in half."""
    base = tmp_path_factory.mktemp("damaged")
    garbage, cut = base / "garbage.sqlite", base / "cut.sqlite"
    garbage.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 64)
    whole = Path(world["db"]).read_bytes()
    cut.write_bytes(whole[: len(whole) // 2])
    return [str(garbage), str(cut)]


@pytest.mark.sqlite_only("damages the SQLite file's bytes")
@pytest.mark.parametrize("path, cmd", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_no_traceback_on_a_damaged_database(world, damaged, monkeypatch, path, cmd):
    """On a damaged database file every command fails (or works) in words, never with a
    traceback."""
    positional = [p for p in cmd.params if isinstance(p, click.Argument)]
    for file in damaged:
        run(world, monkeypatch, path, ["--db", file, *path.split(), *["1"] * len(positional),
                                       *NEVER_RUN.get(path, [])])
