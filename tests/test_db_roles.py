"""Identity from the database login (PostgreSQL): `appointer db roles` gives every coordinator
a login of their own, with grants that let no coordinator change or delete an audit row; with
identity "database" a coordinator acts as their login and cannot act as another one."""

from __future__ import annotations

import dbsql
import pytest
from conftest import Cli

from appointer.dbroles import role_for

NORD, VEST = "coord@nord.example", "coord@vest.example"


@pytest.fixture
def roles(backend, initialised, cli):
    """The roles applied to the test's database; a Cli factory for one login."""
    if backend != "postgres":
        pytest.skip("PostgreSQL only (run with --backend postgres)")
    cli("db", "roles", "--apply")
    server, name = initialised.db.rsplit("/", 1)

    def as_login(login: str) -> Cli:
        return Cli(server.replace("//postgres@", f"//{login}@") + "/" + name)
    return as_login


def test_db_roles_prints_one_login_per_coordinator_and_an_append_only_audit(backend, initialised,
                                                                           cli):
    """The SQL names each coordinator's login, the link pages' and cron's roles, and takes
    UPDATE and DELETE on the audit from all of them; on SQLite the command refuses."""
    if backend != "postgres":
        result = cli("db", "roles", expect=1)
        assert result.output.startswith("Error: ") and "PostgreSQL" in result.output
        return
    out = cli("db", "roles").stdout
    for email in (NORD, VEST, "coord@midt.example", "coord@sor-ost.example"):
        assert f"-- {email}" in out and role_for(email) in out
    assert "REVOKE UPDATE, DELETE, TRUNCATE ON auditevent FROM appointer_coordinators;" in out
    assert {r["id"] for r in cli.json("db", "roles")["roles"]} == {
        role_for(e) for e in (NORD, VEST, "coord@midt.example", "coord@sor-ost.example")}


def test_a_coordinators_login_may_add_audit_rows_but_never_change_or_delete_one(roles, steps,
                                                                                 initialised):
    """As a coordinator's own login, a step writes its audit row; an UPDATE or DELETE of an
    audit row is refused by the database itself."""
    nord = roles(role_for(NORD))
    sid = steps.service()
    env = {"APPOINTER_IDENTITY": "database"}
    nord("member", "request", str(sid), "--seat", "region:nord", env=env)
    login_url = nord.db_path
    with dbsql.connect(initialised.db) as con:
        assert con.execute("SELECT actor FROM auditevent WHERE trigger = 'request'"
                           ).fetchall() == [(NORD,)]
    for statement in ("UPDATE auditevent SET actor = 'someone@else.example'",
                      "DELETE FROM auditevent"):
        with pytest.raises(Exception, match="permission denied"):
            with dbsql.connect(login_url) as con:
                con.execute(statement)
    with dbsql.connect(initialised.db) as con:
        assert con.execute("SELECT count(*) FROM auditevent WHERE actor = ?", (NORD,)
                           ).fetchone() == (1,)


def test_in_database_mode_a_login_cannot_act_as_another_coordinator(roles, steps, cli):
    """Identity "database": --as is refused (exit 1, nothing stored), and a login that
    belongs to no coordinator is refused."""
    env = {"APPOINTER_IDENTITY": "database"}
    sid = steps.service()
    nord = roles(role_for(NORD))
    result = nord("member", "request", str(sid), "--seat", "region:vest", actor=VEST, env=env,
                  expect=1)
    assert "--as" in result.output and "not accepted" in result.output
    web = roles("appointer_web")
    result = web("member", "request", str(sid), "--seat", "region:nord", env=env, expect=1)
    assert "belongs to no active coordinator" in result.output
    assert cli.json("member", "list") == []
