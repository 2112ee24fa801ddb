"""Shared fixtures: a real database per test (a SQLite file, or with `--backend postgres` a
fresh database in a throwaway PostgreSQL cluster), a real SMTP server on an ephemeral port,
the CLI run in-process with click's CliRunner (same code path as the console script)."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from click.testing import CliRunner

from appointer import db
from appointer import settings as settings_mod
from appointer.clock import Clock

TODAY = dt.date(2026, 3, 2)
ADMIN = "coord@sor-ost.example"  # the admin of `initialised` (manages reference data)
# `init` that also makes ADMIN the first admin, for a test that starts from an empty file
ADMIN_INIT = ("--admin", ADMIN, "--admin-name", "Coordinator sor-ost", "--admin-region", "sor-ost")


BACKENDS = ("sqlite", "postgres")


def pytest_addoption(parser):
    parser.addoption(
        "--backend", choices=BACKENDS,
        default=os.environ.get("APPOINTER_TEST_BACKEND", "sqlite"),
        help="the database the tests run on (default $APPOINTER_TEST_BACKEND, else sqlite); "
             "postgres starts a throwaway cluster from the PostgreSQL server binaries")


def pytest_report_header(config):
    return f"appointer backend: {config.getoption('--backend')}"


# what a test asks for when it uses the database under test
BACKEND_FIXTURES = {"db_path", "settings", "initialised", "pg_cluster", "backend"}


def _missing_postgres(config) -> str | None:
    """Why a --backend postgres run cannot start here, or None."""
    if config.getoption("--backend") != "postgres":
        return None
    from pgcluster import find_bin

    return None if find_bin() else (
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install PostgreSQL (e.g. "
        "apt-get install postgresql) or set APPOINTER_TEST_PG_BIN")


def pytest_configure(config):
    """In CI (CI=true) a PostgreSQL run that cannot start fails at once, before any xdist
    worker starts, instead of passing by skipping."""
    missing = _missing_postgres(config)
    if missing and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise pytest.UsageError(f"CI: the PostgreSQL run cannot be skipped: {missing}")


def pytest_collection_modifyitems(config, items):
    """The slow tests go first, so that the xdist workers finish together rather than one
    ending on a 15-second test. A `backend_independent` test may not ask for the database
    under test. On PostgreSQL, tests about SQLite itself (its file, WAL, backup API, PRAGMAs)
    and backend-independent tests (they already ran in the SQLite run) skip, saying why;
    without the server binaries the whole run skips, saying so."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable
    for item in items:
        if item.get_closest_marker("backend_independent"):
            uses = BACKEND_FIXTURES & set(item.fixturenames)
            if uses:
                raise pytest.UsageError(f"{item.nodeid} is marked backend_independent but "
                                        f"uses the database under test: {sorted(uses)}")
    if config.getoption("--backend") != "postgres":
        return
    missing = _missing_postgres(config)
    for item in items:
        sqlite = item.get_closest_marker("sqlite_only")
        independent = item.get_closest_marker("backend_independent")
        if sqlite:
            item.add_marker(pytest.mark.skip(reason="SQLite only: " + _reason(sqlite)))
        elif independent:
            item.add_marker(pytest.mark.skip(
                reason="backend-independent: runs on its own SQLite file or none; the backend "
                       "under test plays no part (" + _reason(independent) + ")"))
        elif missing:
            item.add_marker(pytest.mark.skip(reason=missing))


def _reason(marker) -> str:
    return marker.args[0] if marker.args else marker.kwargs.get("reason", "")


@pytest.fixture(scope="session")
def backend(request) -> str:
    return request.config.getoption("--backend")


@pytest.fixture(scope="session")
def pg_cluster(backend):
    """The session's PostgreSQL cluster (only with --backend postgres; under pytest-xdist, one
    per worker); stopped at the end, also when the session fails."""
    if backend != "postgres":
        yield None
        return
    from pgcluster import Cluster, find_bin

    cluster = Cluster(find_bin())
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def _pg_databases(pg_cluster):
    """Makes each test's PostgreSQL database ahead and drops it after, in the background."""
    from pgcluster import Databases

    databases = Databases(pg_cluster)
    yield databases
    databases.close()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    """Tests never see the developer's APPOINTER_* variables; engines are closed after."""
    for key in list(os.environ):
        if key.startswith("APPOINTER_"):
            monkeypatch.delenv(key)
    yield
    db.dispose_all()


@pytest.fixture
def db_path(request, tmp_path, pg_cluster):
    """Where the test's database is: a SQLite file, or the URL of a fresh PostgreSQL database
    (empty, or for a test that asks for `initialised` a copy of the template), dropped after
    the test."""
    if pg_cluster is None:
        yield str(tmp_path / "appointer.sqlite")
        return
    databases = request.getfixturevalue("_pg_databases")
    if "initialised" in request.fixturenames:
        request.getfixturevalue("_initialised_file")  # the template, built once
        name = databases.take("initialised")
    else:
        name = databases.take()
    yield pg_cluster.url(name)
    db.dispose_all()
    databases.drop(name)


@pytest.fixture
def settings(db_path):
    return settings_mod.load(env={}, db=db_path, base_url="https://appointer.example.no")


@pytest.fixture
def clock():
    return Clock(TODAY)


@pytest.fixture(scope="session")
def _initialised_file(tmp_path_factory, pg_cluster):
    """Built once per session (migrating is slow, and most tests need it); each test
    gets its own copy of the file (on PostgreSQL: of the template database)."""
    from appointer import appointments, reference

    if pg_cluster is None:
        path = str(tmp_path_factory.mktemp("template") / "initialised.sqlite")
    else:
        pg_cluster.admin("CREATE DATABASE initialised")
        path = pg_cluster.url("initialised")
    template = settings_mod.load(env={}, db=path)
    db.migrate(template)
    with db.transaction(template, Clock(TODAY)) as tx:
        reference.seed(tx)
        # coord@sor-ost.example is also the admin (ADMIN), who adds the others
        reference.make_first_admin(tx, ADMIN, "Coordinator sor-ost", "sor-ost")
        admin = appointments.resolve_actor(tx.session, ADMIN)
        for code in ("sor-ost", "vest", "midt", "nord"):
            if code != "sor-ost":
                reference.add_coordinator(tx, f"coord@{code}.example", f"Coordinator {code}",
                                          code, actor=admin)
            reference.set_region_contact(tx, code, f"contact@{code}.example", actor=admin)
    db.dispose_all()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def initialised(settings, _initialised_file):
    """A migrated database with the reference data, coordinators in every region and each
    region's contact address: a copy of the session's template file, through SQLite's own
    backup (a plain file copy of an open WAL database is not safe). On PostgreSQL `db_path`
    has already created the test's database from the session's template database."""
    import sqlite3

    if settings.db.startswith("postgresql"):  # `db_path` made it from the template
        return settings
    with sqlite3.connect(_initialised_file) as src, sqlite3.connect(settings.db) as dst:
        src.backup(dst)
    return settings


class Cli:
    def __init__(self, db_path: str, today: str = TODAY.isoformat()):
        self.db_path = db_path
        self.today = today
        self.runner = CliRunner()

    def __call__(self, *args, actor: str | None = None, expect: int | None = 0, env=None):
        from appointer.cli import main

        argv = ["--db", self.db_path, "--today", self.today]
        if actor:
            argv += ["--as", actor]
        result = self.runner.invoke(main, [*argv, *args], env=env, catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, result.output
        return result

    def json(self, *args, **kw):
        import json

        result = self(*args, "--json", **kw)
        return json.loads(result.stdout)


@pytest.fixture
def cli(db_path):
    return Cli(db_path)


@pytest.fixture
def smtp_sink(tmp_path):
    from appointer.mail.sink import Sink

    sink = Sink(directory=str(tmp_path / "maildir")).start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def web_server():
    """One real uvicorn on an ephemeral port for the session; `web` gives it each test's app."""
    from weblive import LiveServer

    with LiveServer() as srv:
        yield srv


@pytest.fixture
def web(web_server, initialised, clock):
    """The link pages (appointer.web) over the `initialised` database, served by the real
    uvicorn of `web_server`. `web.url`; `web.app.state.clock` may be replaced to walk time."""
    from appointer.web import create_app

    yield web_server.serve(create_app(initialised, clock))
    web_server.app = None


@pytest.fixture
def web_client(web):
    """An httpx client bound to the `web` server."""
    import httpx

    with httpx.Client(base_url=web.url, timeout=20) as client:
        yield client


# -- mail (issue 3): drive appointment cases through the real service layer ------------------
WORKPLACE = {"sor-ost": "Akershus universitetssykehus HF", "vest": "Helse Bergen HF",
             "midt": "St. Olavs hospital HF", "nord": "Universitetssykehuset Nord-Norge HF"}


class Steps:
    """One service-layer call per transaction, as a coordinator of the region named; returns
    what the call returned. Candidates get an address derived from the seat."""

    def __init__(self, settings, clock):
        self.settings, self.clock = settings, clock

    def run(self, region, fn):
        from appointer import appointments

        with db.transaction(self.settings, self.clock) as tx:
            return fn(tx, appointments.resolve_actor(tx.session, f"coord@{region}.example"))

    def service(self, name="Nasjonal tjeneste for test", kind="national",
                hosts=("Oslo universitetssykehus HF",), function=None, leader=True) -> int:
        from appointer import services

        def add(tx, actor):
            return services.add_service(
                tx, name=name, kind=kind, hosts=list(hosts), function=function,
                leader_name="Tjenesteleder" if leader else None,
                leader_email="leder@tjenesten.example" if leader else None).id
        return self.run("sor-ost", add)

    def seat_region(self, service_id, seat) -> str:
        """The region that appoints `seat` (whose coordinators act on it)."""
        from appointer import models, seats

        with db.transaction(self.settings, self.clock, write=False) as tx:
            service = tx.session.get(models.Service, service_id)
            return seats.seat_of(tx.session, service, seat).appointing_region

    def propose(self, service_id, seat, region=None, name=None, email=None,
                institution=None, lang=None) -> int:
        from appointer import appointments

        region = region or self.seat_region(service_id, seat)

        kind, _, code = seat.partition(":")
        slug = seat.replace(":", "-")
        user = kind == "user"
        if institution is None and not user:
            institution = WORKPLACE.get(code) or "Oslo universitetssykehus HF"

        def propose(tx, actor):
            fired, _ = appointments.propose_member(
                tx, service_id, seat, name=name or f"Kandidat {slug}",
                email=email or f"{slug}@kandidat.example", institution=institution,
                leader_name=None if user else f"Leder {slug}",
                leader_email=None if user else f"{slug}@leder.example",
                share="5 %", represents=None, actor=actor, lang=lang)
            return fired.case.id
        return self.run(region, propose)

    def advance(self, case_id, trigger, region=None, reason=None):
        """As a coordinator of `region`, by default of the region that appoints the seat. An
        answer (accept, decline, consent, refuse) is the candidate's or leader's own, as
        through their link; given a `region`, its coordinator answers for them, with
        evidence."""
        from appointer import appointments
        from appointer.engine import Actor

        with db.transaction(self.settings, self.clock, write=False) as tx:
            case = appointments.get_case(tx.session, case_id)
        person = appointments.ON_BEHALF.get(trigger)
        if person and region is None:
            email = case.candidate_email if person == "candidate" else case.leader_email
            with db.transaction(self.settings, self.clock) as tx:
                return appointments.advance(tx, case_id, trigger, Actor(kind=person,
                                                                        email=email))
        region = region or case.appointing_region
        evidence = "by phone" if person else None
        return self.run(region, lambda tx, actor: appointments.advance(
            tx, case_id, trigger, actor, reason=reason, evidence=evidence))

    def request(self, service_id, seat, region=None):
        from appointer import appointments

        region = region or self.seat_region(service_id, seat)

        return self.run(region, lambda tx, actor: appointments.request_member(
            tx, service_id, seat, actor))

    def appoint(self, case_id, region, user=False):
        """accept → (consent →) appoint; returns the appoint transition."""
        self.advance(case_id, "accept", region)
        if not user:
            self.advance(case_id, "consent", region)
        return self.advance(case_id, "appoint", region)

    def outbox(self, ids=None):
        from sqlmodel import select

        from appointer.models import OutboxMessage

        with db.transaction(self.settings, self.clock) as tx:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if ids is not None:
                query = query.where(OutboxMessage.id.in_(list(ids)))
            return list(tx.session.exec(query))


@pytest.fixture
def steps(initialised, clock):
    return Steps(initialised, clock)
