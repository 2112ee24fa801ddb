"""init, regions, coordinators, institutions and services from the CLI."""

import csv
from pathlib import Path

import dbsql
import pytest
from conftest import ADMIN, ADMIN_INIT

REFERENCE = Path(__file__).resolve().parent.parent / "appointer" / "data"


def count(db_path, table):
    with dbsql.connect(db_path) as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def snapshot(db_path):
    with dbsql.connect(db_path) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            if dbsql.is_postgres(db_path) else "SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}


def test_init_loads_regions_and_every_institution_once(cli, db_path):
    """`init` on a fresh machine gives the four RHFs and every HF/private hospital; twice
    changes nothing."""
    first = cli.json("init")
    assert first["schema"] == "created"
    assert first["regions"] == 4
    with open(REFERENCE / "institutions.csv", encoding="utf-8") as fh:
        expected = {row["name"] for row in csv.DictReader(fh)}
    listed = {i["name"] for i in cli.json("institution", "list")}
    assert listed == expected
    assert {"Helse Bergen HF", "Lovisenberg diakonale sykehus"} <= listed
    before = snapshot(db_path)
    again = cli.json("init")
    assert again["schema"] == "up to date"
    assert (again["regions"], again["institutions"]) == (0, 0)
    assert snapshot(db_path) == before
    if not dbsql.is_postgres(db_path):
        with dbsql.connect(db_path) as con:
            assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_commands_on_a_missing_database_say_run_init(cli):
    """A coordinator who forgot `init` is told what to run, not shown a traceback."""
    result = cli("service", "list", expect=1)
    assert "appointer init" in result.output


def test_region_accepts_codes_and_full_names(cli):
    """Regions are named as people say them: `vest`, `Helse Vest`, `Helse Vest RHF`."""
    cli("init", *ADMIN_INIT)
    for i, name in enumerate(["vest", "Helse Vest", "Helse Vest RHF", "helse vest rhf"]):
        cli("coordinator", "add", "--email", f"c{i}@vest.example", "--name", "C", "--region", name, actor=ADMIN)
    assert {c["region"] for c in cli.json("coordinator", "list") if c["email"] != ADMIN} == {"vest"}
    bad = cli("coordinator", "add", "--email", "x@y.example", "--name", "X",
              "--region", "Helse Øst", expect=1, actor=ADMIN)
    assert "sor-ost" in bad.output and "no region" in bad.output


def test_region_contact_is_set_and_listed(cli):
    """Each region's service-environment address is stored and shown."""
    cli("init", *ADMIN_INIT)
    cli("region", "contact", "Helse Nord RHF", "Servicemiljo@Helse-Nord.example", actor=ADMIN)
    regions = {r["code"]: r for r in cli.json("region", "list")}
    assert regions["nord"]["contact_email"] == "servicemiljo@helse-nord.example"
    assert regions["vest"]["contact_email"] is None
    cli("region", "contact", "nord", "not-an-address", expect=1, actor=ADMIN)
    assert cli.json("region", "list")[3]["contact_email"] == "servicemiljo@helse-nord.example"


def test_duplicate_coordinator_is_refused(cli, db_path):
    """One coordinator per email: a second registration is refused and stores nothing."""
    cli("init", *ADMIN_INIT)
    cli("coordinator", "add", "--email", "kari@nord.example", "--name", "Kari", "--region", "nord", actor=ADMIN)
    r = cli("coordinator", "add", "--email", "KARI@nord.example", "--name", "K", "--region",
            "vest", expect=1, actor=ADMIN)
    assert "already registered" in r.output
    assert count(db_path, "coordinator") == 2  # the admin and Kari


SERVICE = ["service", "add", "--leader-name", "Leder", "--leader-email", "leder@tjeneste.example"]


@pytest.mark.parametrize("args, rule", [
    (["--name", "A", "--kind", "national", "--hf", "Oslo universitetssykehus HF",
      "--hf", "Helse Bergen HF"], "exactly one institution"),
    (["--name", "B", "--kind", "multiregional", "--hf", "Oslo universitetssykehus HF"],
     "exactly two institutions"),
    (["--name", "C", "--kind", "multiregional", "--hf", "Oslo universitetssykehus HF",
      "--hf", "Akershus universitetssykehus HF"], "two different regions"),
    (["--name", "E", "--kind", "national", "--hf", "Helse Bergen HF", "--function", "training"],
     "only to competence"),
    (["--name", "F", "--kind", "national", "--hf", "Sykehus som ikke finnes"], "no institution"),
    (["--name", "G", "--kind", "national", "--hf", "Helse"], "did you mean Helse Bergen HF"),
])
def test_service_shape_rules_refuse_and_store_nothing(cli, db_path, args, rule):
    """Each kind's host rule is enforced with a message naming it, exit 1, nothing stored."""
    cli("init", *ADMIN_INIT)
    result = cli(*SERVICE, *args, expect=1, actor=ADMIN)
    assert rule in result.output
    assert count(db_path, "service") == 0
    assert count(db_path, "servicehost") == 0


def test_services_of_each_kind_register(cli):
    """National, multiregional (two regions) and competence services register correctly."""
    cli("init", *ADMIN_INIT)
    nat = cli.json(*SERVICE, "--name", "Nasjonal X", "--kind", "national",
                   "--hf", "Oslo universitetssykehus HF", actor=ADMIN)
    assert nat["state"] == "established" and nat["id"] == 1
    multi = cli.json(*SERVICE, "--name", "Flerregional Y", "--kind", "multiregional",
                     "--hf", "Oslo universitetssykehus HF", "--hf", "983974724", actor=ADMIN)
    assert [h["region"] for h in multi["hosts"]] == ["sor-ost", "vest"]
    comp = cli.json(*SERVICE, "--name", "Kompetanse Z", "--kind", "competence",
                    "--hf", "St. Olavs", "--function", "training", actor=ADMIN)
    assert comp["function"] == "training"
    assert [s["id"] for s in cli.json("service", "list")] == [1, 2, 3]
    dup = cli(*SERVICE, "--name", "nasjonal x", "--kind", "national", "--hf", "Helse Bergen HF",
              expect=1, actor=ADMIN)
    assert "already registered" in dup.output


def test_institution_add_extends_the_reference_data(cli):
    """A coordinator can add an institution the seed data lacks; bad numbers are refused."""
    cli("init", *ADMIN_INIT)
    cli("institution", "add", "--name", "Sykehuset Nytt HF", "--region", "midt",
        "--orgnr", "123456785", actor=ADMIN)
    assert any(i["name"] == "Sykehuset Nytt HF" for i in cli.json("institution", "list",
                                                                  "--region", "midt"))
    assert "nine digits" in cli("institution", "add", "--name", "Z", "--region", "midt",
                                "--orgnr", "12", expect=1, actor=ADMIN).output


def test_database_password_is_never_printed():
    """`init` says which database it set up, without the password of a server URL."""
    from appointer.cli.setup import display_url

    shown = display_url("postgresql+psycopg://app:s3cret@db.example/appointer")
    assert "s3cret" not in shown and "db.example/appointer" in shown
    assert display_url("sqlite:////srv/a.sqlite") == "/srv/a.sqlite"
