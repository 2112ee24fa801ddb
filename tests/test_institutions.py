"""Institutions are found strictly (id, orgnr, exact name, alias) and never guessed; a second
record of the same hospital cannot be added; the stored institution is always printed."""

from __future__ import annotations

import csv
from importlib import resources

import dbsql
import pytest
from conftest import ADMIN

from appointer import db, institutions
from appointer.errors import InvalidInput, NotFound

OUS = "Oslo universitetssykehus HF"
UNN = "Universitetssykehuset Nord-Norge HF"
LEADER = ["--leader-name", "Leder", "--leader-email", "leder@tjeneste.example"]


def _csv(name: str) -> list[dict]:
    with resources.files("appointer.data").joinpath(name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def add_service(cli, name, *hosts, expect=0):
    args = ["service", "add", "--name", name, "--kind", "national", "--established", "2015-01-01",
            *LEADER]
    for h in hosts:
        args += ["--hf", h]
    return cli(*args, expect=expect, actor=ADMIN)


def count(db_path, table) -> int:
    with dbsql.connect(db_path) as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.mark.parametrize("ref", [
    UNN, "UNN", "unn", "Universitetssykehuset Nord-Norge", "universitetssykehuset nord norge hf",
    "UNIVERSITETSSYKEHUSET-NORD-NORGE", "983974899", "983 974 899", "20"])
def test_an_institution_is_found_by_id_orgnr_exact_name_or_alias(initialised, clock, ref):
    """Case, spaces, hyphens and the word HF do not matter; id, orgnr and aliases work."""
    with db.transaction(initialised, clock) as tx:
        assert institutions.find_institution(tx.session, ref).name == UNN


@pytest.mark.parametrize("ref, offered", [
    ("Univ Nord", [UNN]),
    ("Helse Nord", ["Helse Nord-Trøndelag HF"]),
    ("ola", ["St. Olavs hospital HF"]),
    ("Nord-Norge", [UNN]),
    ("Betanien", ["Stiftelsen Betanien hospital Skien", "Betanien sykehus AS"]),
    ("Sunaas", ["Sunnaas sykehus HF"]),
])
def test_a_part_or_a_misspelling_is_refused_with_the_nearest_names(initialised, clock, ref,
                                                                   offered):
    """Nothing is guessed: a part of a name (the old `UNN` → Sunnaas bug) is refused, and the
    refusal offers the nearest institutions."""
    with db.transaction(initialised, clock) as tx, pytest.raises(NotFound) as exc:
        institutions.find_institution(tx.session, ref)
    assert f"no institution {ref!r}; did you mean" in str(exc.value)
    for name in offered:
        assert name in str(exc.value)


def test_hf_unn_stores_unn_and_a_guess_stores_nothing(initialised, cli, db_path):
    """`--hf UNN` stores Universitetssykehuset Nord-Norge HF and says so; "Helse Nord" and
    "ola" are refused with exit 1 and nothing stored."""
    out = add_service(cli, "Tjeneste A", "UNN").output
    assert out.strip() == f"service 1: established (Tjeneste A) at {UNN}"
    assert cli.json("service", "show", "1")["hosts"][0]["institution"] == UNN
    for ref in ("Helse Nord", "ola", "Sunnaas sykehus UNN"):
        result = add_service(cli, f"Tjeneste {ref}", ref, expect=1)
        assert result.output.startswith(f"Error: --hf: no institution {ref!r}")
    long = add_service(cli, "Tjeneste L", "x" * 5000, expect=1).output
    assert long.startswith("Error: --hf: no institution 'xxx") and len(long) < 200
    assert count(db_path, "service") == 1


def test_every_shipped_alias_names_its_own_institution_only(initialised, clock):
    """Each alias in data/institution_aliases.csv is stored by `init`, resolves to the
    institution its row names, and is not the name of another institution."""
    rows = _csv("institution_aliases.csv")
    by_orgnr = {r["orgnr"]: r["name"] for r in _csv("institutions.csv")}
    with db.transaction(initialised, clock) as tx:
        stored = institutions.aliases_by_institution(tx.session)
        assert sum(len(v) for v in stored.values()) == len(rows)
        for row in rows:
            assert by_orgnr[row["orgnr"]] == row["name"], row
            found = institutions.find_institution(tx.session, row["alias"])
            assert (found.orgnr, found.name) == (row["orgnr"], row["name"]), row
    keys = [institutions.name_key(r["alias"]) for r in rows]
    assert len(keys) == len(set(keys)), "an alias is listed twice"
    names = {institutions.name_key(n): n for n in by_orgnr.values()}
    assert not [r for r in rows if institutions.name_key(r["alias"]) in names]


def test_the_registers_organisation_numbers_pass_the_check_digit():
    """Every shipped orgnr passes the modulus-11 check `institution add` applies; a digit
    typed wrong fails it."""
    for row in _csv("institutions.csv") + _csv("regions.csv"):
        assert institutions.check_orgnr(row["orgnr"]) == row["orgnr"]
    assert institutions.check_orgnr("983 974 899") == "983974899"
    for bad in ("983974898", "98397489", "98397489x", "٩٨٣٩٧٤٨٩٩"):
        with pytest.raises(InvalidInput):
            institutions.check_orgnr(bad)


@pytest.mark.parametrize("args, says", [
    (["--name", "OUS", "--orgnr", "123456785"], f"OUS is {OUS} (993467049): already registered"),
    (["--name", "Oslo universitetssykehus", "--orgnr", "123456785"], f"is {OUS} (993467049)"),
    (["--name", "Oslo sykehus", "--orgnr", "993467049"],
     f"organisation number 993467049 is {OUS} (993467049)"),
    (["--name", "Nytt sykehus", "--orgnr", "123456785", "--alias", "UNN"],
     f"alias UNN is {UNN} (983974899)"),
    (["--name", "Nytt sykehus", "--orgnr", "123456789"], "check digit"),
    (["--name", "Nytt sykehus", "--orgnr", "12345"], "nine digits"),
    (["--name", "Nytt sykehus", "--orgnr", "123456785", "--alias", "NS", "--alias", "ns"],
     "the same as"),
    (["--name", "Nytt sykehus", "--orgnr", "123456785", "--alias", "42"], "contain letters"),
])
def test_institution_add_refuses_a_second_record_of_a_known_institution(initialised, cli,
                                                                        db_path, args, says):
    """A name, organisation number or alias that already names an institution, or a bad
    orgnr, is refused with exit 1 and nothing stored."""
    before = count(db_path, "institution"), count(db_path, "institutionalias")
    result = cli("institution", "add", "--region", "sor-ost", *args, expect=1, actor=ADMIN)
    assert result.output.startswith("Error: ") and says in result.output, result.output
    assert (count(db_path, "institution"), count(db_path, "institutionalias")) == before


def test_institution_add_needs_an_orgnr(initialised, cli):
    """Without --orgnr it is a usage error (exit 2)."""
    result = cli("institution", "add", "--name", "Nytt sykehus", "--region", "midt", expect=2, actor=ADMIN)
    assert "--orgnr" in result.output


def test_an_added_institutions_aliases_are_listed_and_resolve(initialised, cli):
    """`--alias` is stored, shown by `institution list` and found by every command."""
    added = cli.json("institution", "add", "--name", "Sykehuset Nytt HF", "--region", "midt",
                     "--orgnr", "123 456 785", "--alias", "SNY", "--alias", "Nytt", actor=ADMIN)
    assert (added["orgnr"], added["aliases"], added["state"]) == ("123456785", ["Nytt", "SNY"],
                                                                 "active")
    listed = {i["name"]: i for i in cli.json("institution", "list", "--region", "midt")}
    assert listed["Sykehuset Nytt HF"]["aliases"] == ["Nytt", "SNY"]
    assert listed["St. Olavs hospital HF"]["aliases"] == ["St. Olav", "St. Olavs"]
    assert "SNY" in cli("institution", "list").output
    out = add_service(cli, "Tjeneste S", "sny").output
    assert out.strip().endswith("at Sykehuset Nytt HF")


@pytest.mark.parametrize("ref", ["OUS", "Rikshospitalet", "993467049", "oslo universitetssykehus"])
def test_an_alias_cannot_get_round_the_not_the_host_rule(initialised, cli, ref):
    """Core mandate §3: the member for the host's own region comes from another HF than the
    host. The host's alias, orgnr or a spelling of its name is the host."""
    add_service(cli, "Tjeneste ved OUS", OUS)
    result = cli("member", "propose", "1", "--seat", "region:sor-ost", "--name", "Kari",
                 "--email", "kari@ous.example", "--institution", ref, "--leader-name", "Sjef",
                 "--leader-email", "sjef@ous.example", actor="coord@sor-ost.example", expect=1)
    assert "must come from another institution than the host, Oslo universitetssykehus HF" \
        in result.output
    assert cli.json("member", "list") == []
    dup = cli("institution", "add", "--name", "OUS", "--region", "sor-ost", "--orgnr",
              "123456785", expect=1, actor=ADMIN)
    assert "already registered" in dup.output


def test_an_old_duplicate_makes_the_name_ambiguous_never_a_way_round(initialised, cli,
                                                                      db_path):
    """A second "OUS" stored before `institution add` was strict (no orgnr) does not pass the
    not-the-host rule: "OUS" then names two institutions and is refused, listing both."""
    with dbsql.connect(db_path) as con:
        con.execute("INSERT INTO institution (name, kind, region_code) "
                    "VALUES ('OUS', 'hf', 'sor-ost')")
    add_service(cli, "Tjeneste ved OUS", OUS)
    result = cli("member", "propose", "1", "--seat", "region:sor-ost", "--name", "Kari",
                 "--email", "kari@ous.example", "--institution", "OUS", "--leader-name", "Sjef",
                 "--leader-email", "sjef@ous.example", actor="coord@sor-ost.example", expect=1)
    assert result.output.strip() == (
        f"Error: 'OUS' names several institutions: OUS (no organisation number); {OUS} "
        "(993467049); give the organisation number")
    assert cli.json("member", "list") == []


def test_every_command_that_resolves_an_institution_prints_the_one_stored(initialised, cli,
                                                                           tmp_path):
    """member propose, service add, service apply and service import name the full
    institution they stored, in text and in --json."""
    add_service(cli, "Tjeneste A", "HUS")
    out = cli("member", "propose", "1", "--seat", "region:nord", "--name", "Nina",
              "--email", "nina@unn.example", "--institution", "UNN", "--leader-name", "Ola",
              "--leader-email", "ola@unn.example", "--share", "5 %",
              actor="coord@nord.example").output
    assert out.strip() == f"case 1: proposed (service 1, seat region:nord) at {UNN}"
    assert cli.json("member", "show", "1")["institution"] == UNN
    applied = cli("service", "apply", "--name", "Tjeneste B", "--kind", "national", "--hf",
                  "St Olav", actor="coord@midt.example").output
    assert applied.startswith("service 2: draft (Tjeneste B) at St. Olavs hospital HF; ")
    data = cli.json("service", "apply", "--name", "Tjeneste C", "--kind", "multiregional",
                    "--hf", "SUS", "--hf", "Ahus", actor="coord@vest.example")
    assert [h["institution"] for h in data["hosts"]] == [
        "Helse Stavanger HF", "Akershus universitetssykehus HF"]
    path = tmp_path / "services.csv"
    path.write_text("name,kind,hf,established_on\nTjeneste D,national,Førde,2015-01-01\n",
                    encoding="utf-8")
    out = cli("service", "import", str(path), actor=ADMIN).output
    assert "line 2: Tjeneste D at Helse Førde HF" in out
    added = cli.json("service", "import", str(path), "--dry-run", expect=1, actor=ADMIN)
    assert added["rejected"] and "already registered" in added["rejected"][0]["reason"]


def test_the_resolver_reads_the_reference_data_once_per_transaction(initialised, clock):
    """On a proposal's hot path: many look-ups in one transaction cost two queries (the
    institutions and the aliases), not one per look-up."""
    with db.transaction(initialised, clock) as tx, dbsql.statements_run(tx) as statements:
        for _ in range(20):
            for ref in ("UNN", "st olav", "983974724", "Helse Bergen HF", "5"):
                institutions.find_institution(tx.session, ref)
    assert len(statements) == 2, statements
