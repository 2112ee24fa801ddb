"""Case records: how the engine reads and writes a case row."""

import pytest
from sqlalchemy.orm.exc import StaleDataError

from appointer import appointments, db, engine, lifecycle, records, services
from appointer.models import Appointment, Service


@pytest.fixture
def service(initialised, clock):
    with db.transaction(initialised, clock) as tx:
        row = services.add_service(tx, name="Nasjonal X", kind="national",
                                   hosts=["Oslo universitetssykehus HF"], leader_name="L",
                                   leader_email="l@ous.example")
    return row.id


def test_a_typo_in_a_column_name_is_an_error_not_a_silent_attribute(initialised, clock, service):
    with db.transaction(initialised, clock) as tx:
        case = records.load(tx.session, Service, service)
        with pytest.raises(AttributeError, match="no column 'leader_mail'"):
            case.leader_mail = "x@example.no"
        with pytest.raises(AttributeError, match="no column 'stat'"):
            case.stat  # noqa: B018
        with pytest.raises(AttributeError, match="no column 'colour'"):
            records.new(Appointment, colour="blue")


def test_a_new_record_has_the_column_defaults_and_gets_its_id_when_written(initialised, clock,
                                                                             service):
    with db.transaction(initialised, clock) as tx:
        case = records.new(Appointment, service_id=service, seat="user:1",
                           appointing_region="sor-ost", state="new",
                           created_at=tx.clock.now(), state_since=tx.clock.now())
        assert (case.id, case.lang, case.version_id) == (None, "nb", 1)
        records.write(tx.session, case)
        assert case.id is not None
    with db.transaction(initialised, clock) as tx:
        assert records.load(tx.session, Appointment, case.id).seat == "user:1"


def test_writing_only_what_changed_and_refusing_a_stale_version(initialised, clock, service):
    with db.transaction(initialised, clock) as tx:
        mine = records.load(tx.session, Service, service)
    with db.transaction(initialised, clock) as tx:
        theirs = records.load(tx.session, Service, service)
        theirs.leader_name = "Ny leder"
        records.write(tx.session, theirs)
    assert theirs.version_id == mine.version_id + 1
    mine.leader_email = "ny@ous.example"
    with db.transaction(initialised, clock) as tx:
        with pytest.raises(StaleDataError):
            records.write(tx.session, mine)
    with db.transaction(initialised, clock) as tx:
        now = records.load(tx.session, Service, service)
    assert (now.leader_name, now.leader_email) == ("Ny leder", "l@ous.example")


def test_the_engine_takes_records_only(initialised, clock, service):
    """An ORM object passed to the engine would be written twice (by the engine, then by the
    session's flush): refused before anything happens."""
    with db.transaction(initialised, clock) as tx:
        orm_row = tx.session.get(Service, service)
        actor = appointments.resolve_actor(tx.session, "coord@sor-ost.example")
        with pytest.raises(TypeError, match="case record"):
            engine.fire(tx, lifecycle.load_workflow(tx), orm_row, "initiate_phase_out", actor)


def test_a_record_reads_back_dates_times_and_json_as_the_orm_does(initialised, clock, service):
    """Values stored as text (dates, times, JSON) are decoded when read — the same values the
    ORM gives — and one set before it was ever read is stored as set."""
    import datetime as dt

    with db.transaction(initialised, clock) as tx:
        case = records.new(Appointment, service_id=service, seat="user:1",
                           appointing_region="sor-ost", state="new", created_at=tx.clock.now(),
                           state_since=tx.clock.now(), appointed_on=dt.date(2025, 5, 1),
                           date_precision={"appointed_on": "month"})
        records.write(tx.session, case)
    with db.transaction(initialised, clock) as tx:
        read = records.load(tx.session, Appointment, case.id)
        orm = tx.session.get(Appointment, case.id)
        for column in ("appointed_on", "date_precision", "created_at", "state_since", "ended_on"):
            assert getattr(read, column) == getattr(orm, column), column
        assert read.appointed_on == dt.date(2025, 5, 1)
        assert read.date_precision == {"appointed_on": "month"}
        read.ended_on = dt.date(2026, 1, 31)  # never read before it is set
        records.write(tx.session, read)
    with db.transaction(initialised, clock) as tx:
        assert records.load(tx.session, Appointment, case.id).ended_on == dt.date(2026, 1, 31)
