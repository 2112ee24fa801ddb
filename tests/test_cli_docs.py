"""The CLI teaches itself: every command has help with an example, help starts without the
heavy imports, and read commands speak JSON."""

import json
import subprocess
import sys

import pytest
from cli_tree import all_commands
from conftest import ADMIN, ADMIN_INIT

from appointer.cli import COMMANDS

COMMAND_LIST = all_commands()


@pytest.mark.parametrize("path, cmd", COMMAND_LIST, ids=[p for p, _ in COMMAND_LIST])
def test_every_command_has_help_with_an_example(path, cmd):
    """`--help` is documentation: a summary line and an Example a coordinator can copy."""
    assert cmd.help and cmd.help.strip(), f"{path} has no help"
    assert "Example" in cmd.help, f"{path} has no Example in its help"


@pytest.mark.backend_independent("--help in a subprocess; no database")
def test_help_loads_no_database_code():
    """`appointer --help` and `appointer member --help` start fast because they do not import
    SQLAlchemy/SQLModel (~0.4 s); bench/startup_bench.py measures the time."""
    probe = (
        "import sys\n"
        "from appointer.cli import main\n"
        "for argv in (['--help'], ['member', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'jinja2', 'transitions', 'fastapi')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert "HEAVY []" in out, out
    for name in COMMANDS:
        assert name in out


def test_read_commands_print_json_with_id_and_state(cli):
    """Scripts can rely on --json: every listed object has an id and a state."""
    cli("init", *ADMIN_INIT)
    cli("coordinator", "add", "--email", "c@vest.example", "--name", "C", "--region", "vest", actor=ADMIN)
    cli("service", "add", "--name", "X", "--kind", "national", "--hf", "Helse Bergen HF",
        "--leader-name", "L", "--leader-email", "l@x.example", actor=ADMIN)
    cli("member", "propose", "1", "--seat", "user", "--name", "U", "--email", "u@x.example",
        actor="c@vest.example")
    for args in (["coordinator", "list"], ["region", "list"], ["institution", "list"],
                 ["service", "list"], ["service", "show", "1"], ["member", "list"],
                 ["member", "show", "1"], ["member", "history", "1"], ["group", "show", "1"]):
        data = json.loads(cli(*args, "--json").stdout)
        for item in data if isinstance(data, list) else [data]:
            assert "id" in item and "state" in item, (args, item)


def test_bad_arguments_exit_2_and_domain_errors_exit_1(cli):
    """Usage errors are click's (exit 2); rule violations are `Error: …` with exit 1."""
    cli("init", *ADMIN_INIT)
    assert cli("service", "add", "--name", "X", expect=2, actor=ADMIN).exit_code == 2
    assert "Error:" in cli("--today", "2026-13-01", "service", "list", expect=2).output
    out = cli("member", "show", "99", expect=1).output
    assert out.startswith("Error: no appointment case 99")
