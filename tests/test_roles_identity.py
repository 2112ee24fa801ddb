"""Who may change the reference data (admins), and identity that is proven by the operating
system rather than claimed with --as (issue 12, parts 1 and 2)."""

import pwd
import types

import dbsql
import pytest
from conftest import ADMIN

REFERENCE_COMMANDS = [
    ["coordinator", "add", "--email", "ny@vest.example", "--name", "Ny", "--region", "vest"],
    ["coordinator", "remove", "coord@midt.example"],
    ["region", "contact", "vest", "meg@stranger.example"],
    ["institution", "add", "--name", "Sykehuset Nytt HF", "--region", "midt", "--orgnr",
     "123456785"],
]


def _snapshot(db_path):
    with dbsql.connect(db_path) as con:
        return [con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                for t in ("coordinator", "region", "institution", "auditevent")]


@pytest.mark.parametrize("args", REFERENCE_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_reference_data_needs_an_admin_and_is_audited(initialised, cli, db_path, args):
    """Without --as, or as a coordinator who is not an admin: one Error line, nothing
    stored. As an admin: done, and the audit row names the admin."""
    before = _snapshot(db_path)
    nobody = cli(*args, expect=1).output
    assert nobody.startswith("Error: who is acting?") and len(nobody.splitlines()) == 1
    plain = cli(*args, actor="coord@vest.example", expect=1).output
    assert plain.startswith("Error: coord@vest.example is not an admin: only an admin may")
    assert _snapshot(db_path) == before
    cli(*args, actor=ADMIN)
    [row] = cli.json("audit", "list", "--limit", "1")
    assert row["actor"] == ADMIN and row["case"].split(":")[0] in (
        "coordinator", "region", "institution")


def test_init_makes_the_first_admin_once(cli):
    """`init --admin` makes the first admin; a second first admin is refused; the last
    admin cannot be removed; an admin makes another with `coordinator add --admin`."""
    made = cli.json("init", "--admin", "kari@nord.example", "--admin-name", "Kari",
                    "--admin-region", "nord")
    assert made["admin"]["email"] == "kari@nord.example"
    again = cli("init", "--admin", "ola@vest.example", "--admin-name", "Ola",
                "--admin-region", "vest", expect=1).output
    assert "there is an admin already" in again
    cli("coordinator", "add", "--email", "ola@vest.example", "--name", "Ola", "--region",
        "vest", "--admin", actor="kari@nord.example")
    assert {c["email"]: c["admin"] for c in cli.json("coordinator", "list")} == {
        "kari@nord.example": True, "ola@vest.example": True}
    cli("coordinator", "remove", "ola@vest.example", actor="kari@nord.example")
    last = cli("coordinator", "remove", "kari@nord.example", actor="kari@nord.example",
               expect=1).output
    assert "is the last admin" in last


def test_mail_retry_is_a_coordinators_audited_act(initialised, cli, steps):
    """`mail retry` needs a coordinator and leaves an audit row naming them."""
    sid = steps.service()
    steps.propose(sid, "region:vest", region="vest")
    message = steps.outbox()[-1].id
    assert "who is acting" in cli("mail", "retry", str(message), expect=1).output
    cli("mail", "retry", str(message), actor="coord@vest.example")
    [row] = cli.json("audit", "list", "--case", f"outbox:{message}")
    assert (row["actor"], row["trigger"], row["state"]) == ("coord@vest.example", "retry",
                                                            "queued")


@pytest.fixture
def os_login(monkeypatch):
    """The account the operating system says runs the command (pwd, outside our code)."""
    account = {"name": "kari"}

    def getpwuid(uid):
        return types.SimpleNamespace(pw_name=account["name"], pw_uid=uid)

    monkeypatch.setattr(pwd, "getpwuid", getpwuid)
    return account


OS = {"APPOINTER_IDENTITY": "os"}


def test_os_identity_maps_the_login_refuses_as_and_strangers(cli, os_login):
    """identity = os: the account running `init` is the first admin; its acts are audited
    under the mapped coordinator; --as is refused; an unmapped account is refused."""
    made = cli.json("init", "--admin", "kari@nord.example", "--admin-name", "Kari",
                    "--admin-region", "nord", env=OS)
    assert made["admin"]["login"] == "kari"
    cli("coordinator", "add", "--email", "ola@vest.example", "--name", "Ola", "--region",
        "vest", "--login", "ola", env=OS)
    [row] = cli.json("audit", "list", "--limit", "1", env=OS)
    assert row["actor"] == "kari@nord.example" and row["evidence"]["login"] == "kari"
    claimed = cli("coordinator", "add", "--email", "x@vest.example", "--name", "X",
                  "--region", "vest", actor="kari@nord.example", env=OS, expect=1).output
    assert "--as / APPOINTER_ACTOR is not accepted" in claimed
    os_login["name"] = "mallory"
    stranger = cli("region", "contact", "vest", "meg@stranger.example", env=OS,
                   expect=1).output
    assert "the account 'mallory' is not mapped to a coordinator" in stranger
    os_login["name"] = "ola"  # mapped, but not an admin
    assert "is not an admin" in cli("region", "contact", "vest", "meg@stranger.example",
                                    env=OS, expect=1).output
    assert [c["email"] for c in cli.json("coordinator", "list")] == [
        "kari@nord.example", "ola@vest.example"]


def test_a_claimed_identity_keeps_the_account_that_claimed_it(initialised, cli, os_login):
    """identity = claimed: the audit row names the coordinator claimed with --as, and keeps
    the operating-system account that ran the command beside it."""
    os_login["name"] = "mallory"
    cli("region", "contact", "vest", "ny@vest.example", actor=ADMIN)
    [row] = cli.json("audit", "list", "--limit", "1")
    assert row["actor"] == ADMIN
    assert (row["evidence"]["identity"], row["evidence"]["login"]) == ("claimed", "mallory")


def test_a_login_maps_one_coordinator(initialised, cli):
    """Two coordinators cannot share a login, and a login must look like an account name."""
    cli("coordinator", "add", "--email", "a@vest.example", "--name", "A", "--region", "vest",
        "--login", "anne", actor=ADMIN)
    taken = cli("coordinator", "add", "--email", "b@vest.example", "--name", "B", "--region",
                "vest", "--login", "anne", actor=ADMIN, expect=1).output
    assert "login anne is mapped to a@vest.example already" in taken
    assert "not an account name" in cli(
        "coordinator", "add", "--email", "c@vest.example", "--name", "C", "--region", "vest",
        "--login", "a b", actor=ADMIN, expect=1).output
