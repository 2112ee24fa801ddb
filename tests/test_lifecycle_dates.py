"""Every computed lifecycle date (`002` §4.1, `003`): the application round and its 15 January
boundary, establishment, reports, evaluations, competence terms and phase-outs, with
calendar-month arithmetic at month ends and leap days. Pure functions over Service rows."""

from __future__ import annotations

import datetime as dt

import pytest

from appointer import settings as settings_mod
from appointer.deadlines import (
    add_months,
    application_round,
    lifecycle_rules,
    round_sent_on,
    round_submitted_on,
    service_deadlines,
)
from appointer.models import Service

D = dt.date
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
TODAY = D(2026, 3, 2)


def service(state="established", kind="national", function=None, **dates) -> Service:
    return Service(id=7, name="X", kind=kind, function=function, state=state, created_at=NOW,
                   state_since=NOW, **dates)


def by_rule(svc, today=TODAY, settings=None) -> dict:
    return {d.rule: d for d in service_deadlines(svc, settings, today)}


@pytest.mark.parametrize("start, months, expected", [
    (D(2025, 8, 31), 18, D(2027, 2, 28)),   # 31 August + 18 months: end of February
    (D(2022, 8, 31), 18, D(2024, 2, 29)),   # ... in a leap year, the 29th
    (D(2024, 2, 29), 12, D(2025, 2, 28)),   # a leap day + a year: 28 February
    (D(2024, 2, 29), 48, D(2028, 2, 29)),   # ... four years: a leap day again
    (D(2025, 1, 31), 1, D(2025, 2, 28)),
    (D(2025, 3, 31), 6, D(2025, 9, 30)),
    (D(2031, 1, 31), -18, D(2029, 7, 31)),  # backwards too
    (D(2030, 8, 31), -18, D(2029, 2, 28)),
    (D(2025, 12, 15), 1, D(2026, 1, 15)),   # across a year end
])
def test_calendar_months_are_safe_at_month_ends_and_leap_days(start, months, expected):
    """Deadlines never land on a day that does not exist, nor skip into the next month."""
    assert add_months(start, months) == expected


@pytest.mark.parametrize("sent, year", [
    (D(2026, 1, 15), 2026),   # on the deadline: this year's round
    (D(2026, 1, 16), 2027),   # a day late: next year's
    (D(2025, 12, 31), 2026),
    (D(2026, 1, 1), 2026),
    (D(2024, 1, 15), 2024),   # a leap year changes nothing
])
def test_an_application_sent_by_15_january_belongs_to_that_years_round(sent, year):
    """The 15 January boundary decides the round, its internal deadline and its feedback date."""
    rnd = round_sent_on(sent)
    assert rnd.year == year
    assert rnd.send_by == D(year, 1, 15)
    assert rnd.internal_deadline == D(year - 1, 8, 31)
    assert rnd.feedback_by == D(year, 12, 1)


@pytest.mark.parametrize("submitted, year", [
    (D(2025, 8, 31), 2026),  # on the internal deadline: the next round
    (D(2025, 9, 1), 2027),   # after it: the round after
    (D(2025, 1, 10), 2026),
])
def test_the_regions_application_by_31_august_goes_into_next_years_round(submitted, year):
    """A region's application submitted by 31 August of Y-1 is in round Y."""
    assert round_submitted_on(submitted).year == year


def test_the_round_dates_are_settings():
    """An RHF that moves its internal deadline or the joint deadline changes every round."""
    s = settings_mod.load(env={"APPOINTER_ROUND_SEND_DEADLINE": "02-01",
                               "APPOINTER_ROUND_INTERNAL_DEADLINE": "09-15"})
    assert round_sent_on(D(2026, 1, 20), s).year == 2026
    assert round_sent_on(D(2026, 2, 2), s).year == 2027
    assert round_submitted_on(D(2025, 9, 15), s).internal_deadline == D(2025, 9, 15)


@pytest.mark.parametrize("value", ["02-29", "13-01", "1-32", "Jan 15", ""])
def test_a_yearly_date_setting_that_does_not_exist_every_year_is_refused(value):
    """A deadline setting like 29 February would vanish three years in four: refused at start."""
    with pytest.raises(ValueError, match="MM-DD"):
        settings_mod.load(env={"APPOINTER_ROUND_SEND_DEADLINE": value or " "})


def test_a_draft_heads_for_the_next_round_whose_internal_deadline_is_still_ahead():
    """A draft shows the region's deadline it can still make; missing it moves it a round on."""
    draft = service("draft", kind="national")
    on_time = by_rule(draft, today=D(2025, 8, 31))["application_internal"]
    assert on_time.due_on == D(2025, 8, 31)
    assert "round 2026" in on_time.label
    late = by_rule(draft, today=D(2025, 9, 1))["application_internal"]
    assert late.due_on == D(2026, 8, 31)


def test_submitted_and_prioritised_applications_are_due_with_the_deciding_body_by_15_january():
    """After the region's step the next date is the joint application of that round."""
    submitted = service("submitted", submitted_on=D(2025, 8, 20))
    assert by_rule(submitted)["application_send"].due_on == D(2026, 1, 15)
    prioritised = service("prioritised", submitted_on=D(2025, 8, 20),
                          prioritised_on=D(2025, 12, 9))
    due = by_rule(prioritised)["application_send"]
    assert due.due_on == D(2026, 1, 15)
    assert due.overdue(D(2026, 1, 16)) and not due.overdue(D(2026, 1, 15))


def test_a_sent_application_awaits_feedback_by_1_december_of_its_round():
    """Sent 16 January is round Y+1: feedback due 1 December of Y+1, not of Y."""
    sent = service("sent", sent_on=D(2026, 1, 16))
    assert by_rule(sent)["decision_feedback"].due_on == D(2027, 12, 1)
    assert application_round(sent, None, TODAY).year == 2027
    decided = service("approved", sent_on=D(2026, 1, 15), approved_on=D(2026, 6, 1))
    assert by_rule(decided)["decision_feedback"].done


def test_establishment_is_due_one_year_after_approval_and_flagged_when_overdue():
    """An approved service must be running within a year; a leap-day approval ends 28 Feb."""
    approved = service("approved", approved_on=D(2024, 2, 29))
    due = by_rule(approved)["establishment_due"]
    assert due.due_on == D(2025, 2, 28)
    assert not due.overdue(D(2025, 2, 28)) and due.overdue(D(2025, 3, 1))
    running = service("established", approved_on=D(2024, 2, 29), established_on=D(2025, 1, 10))
    assert by_rule(running)["establishment_due"].done


def test_annual_reports_start_the_year_after_establishment():
    """Established in 2025: the first report is for 2026, with the RHFs by 15 March 2027; it
    is listed up to that day and not after (then the annual-report cycle follows it)."""
    svc = service(established_on=D(2025, 5, 1))
    first = by_rule(svc, today=D(2026, 3, 2))["first_annual_report"]
    assert first.due_on == D(2027, 3, 15)
    assert "2026" in first.label
    assert "first_annual_report" in by_rule(svc, today=D(2027, 3, 15))
    assert "first_annual_report" not in by_rule(svc, today=D(2027, 3, 16))


def test_the_next_evaluation_comes_about_five_years_after_the_last():
    """From establishment, or from the last evaluation once there has been one."""
    assert by_rule(service(established_on=D(2019, 3, 1)))["next_evaluation"].due_on == D(2024, 3, 1)
    evaluated = service(established_on=D(2019, 3, 1), last_evaluated_on=D(2024, 5, 2))
    assert by_rule(evaluated)["next_evaluation"].due_on == D(2029, 5, 2)
    assert by_rule(service(established_on=D(2020, 2, 29)))["next_evaluation"].due_on \
        == D(2025, 2, 28)


@pytest.mark.parametrize("function, established, ends, initiate_by", [
    ("training", D(2021, 1, 1), D(2026, 1, 1), D(2024, 7, 1)),
    ("competence_building", D(2021, 1, 1), D(2031, 1, 1), D(2029, 7, 1)),
    ("training", D(2020, 8, 31), D(2025, 8, 31), D(2024, 2, 29)),  # 18 months back: leap day
    ("competence_building", D(2024, 2, 29), D(2034, 2, 28), D(2032, 8, 28)),
    ("competence_building", D(2016, 2, 29), D(2030, 1, 1), D(2028, 7, 1)),  # counted from 2020
    ("training", D(2019, 12, 31), D(2025, 1, 1), D(2023, 7, 1)),
])
def test_a_competence_services_term_and_the_initiative_18_months_before(function, established,
                                                                         ends, initiate_by):
    """Training runs 5 years, competence building 10; phase-out or continuation is initiated
    at least 18 months before the term ends."""
    d = by_rule(service(kind="competence", function=function, established_on=established))
    assert d["competence_term_end"].due_on == ends
    assert d["continuation_initiative"].due_on == initiate_by
    assert "competence_term_end" not in by_rule(service(kind="national", established_on=established))


def test_a_decision_after_the_term_sets_the_next_term_or_ends_the_term_rules():
    """A new term counts from the decision (guide to reg. 1706 §4.1); continuing as a centre,
    network or other form ends the competence term rules for the record."""
    renewed = service(kind="competence", function="training", established_on=D(2012, 5, 1),
                      continued_on=D(2024, 11, 4), continuation="new_term")
    assert by_rule(renewed)["competence_term_end"].due_on == D(2029, 11, 4)
    for form in ("centre", "network", "other"):
        moved = service(kind="competence", function="training", established_on=D(2012, 5, 1),
                        continued_on=D(2024, 11, 4), continuation=form)
        assert not {"competence_term_end", "continuation_initiative"} & set(by_rule(moved))


@pytest.mark.parametrize("initiated, decision, working", [
    (D(2025, 8, 31), D(2026, 2, 28), D(2027, 2, 28)),
    (D(2023, 8, 31), D(2024, 2, 29), D(2025, 2, 28)),
    (D(2025, 1, 15), D(2025, 7, 15), D(2026, 7, 15)),
])
def test_phase_out_decision_after_6_months_and_new_organisation_after_18(initiated, decision,
                                                                         working):
    """The 18-month change process of `003`: ~6 months to the decision, ~12 more to work."""
    d = by_rule(service("phase_out_initiated", established_on=D(2015, 1, 1),
                        phase_out_initiated_on=initiated))
    assert d["reorganisation_decision"].due_on == decision
    assert not d["reorganisation_decision"].done
    assert d["new_organisation_working"].due_on == working
    decided = by_rule(service("reorganisation_decided", established_on=D(2015, 1, 1),
                              phase_out_initiated_on=initiated, reorganisation_decided_on=decision,
                              reorganisation_outcome="discontinue"))
    assert decided["reorganisation_decision"].done
    assert decided["new_organisation_working"].due_on == working


def test_final_states_have_no_deadlines():
    """A rejected, withdrawn or phased-out service is never reminded of anything."""
    assert service_deadlines(service("rejected", sent_on=D(2026, 1, 10),
                                     rejected_on=D(2026, 6, 1)), None, TODAY) == []
    assert service_deadlines(service("withdrawn", submitted_on=D(2025, 8, 1)), None, TODAY) == []
    assert service_deadlines(service("phased_out", kind="competence", function="training",
                                     established_on=D(2015, 1, 1),
                                     phase_out_initiated_on=D(2019, 1, 1),
                                     phased_out_on=D(2020, 12, 31)), None, TODAY) == []


def test_every_rule_in_the_lifecycle_file_is_computed_and_every_computed_rule_is_in_the_file():
    """The file's [deadlines] (labels, recipients, reminders) and the code stay in step."""
    _, specs = lifecycle_rules()
    samples = [
        service("draft"), service("submitted", submitted_on=D(2025, 8, 1)),
        service("sent", sent_on=D(2026, 1, 2)), service("approved", approved_on=D(2026, 1, 2)),
        service(kind="competence", function="training", established_on=D(2025, 6, 1)),
        service("phase_out_initiated", established_on=D(2020, 1, 1),
                phase_out_initiated_on=D(2025, 1, 1)),
    ]
    produced = {d.rule for s in samples for d in service_deadlines(s, None, TODAY)}
    assert produced == set(specs)
    for d in service_deadlines(samples[2], None, TODAY):
        assert d.notify == tuple(specs[d.rule]["notify"])
        assert d.remind_before_days == tuple(specs[d.rule]["remind_before_days"])
        assert "{" not in d.label


def test_a_change_goes_through_the_round_with_the_deadlines_of_an_application():
    """A change of name or content is applied for in the round (`002` §4.1): requested, the
    region's deadline ahead; submitted or prioritised, the joint application by 15 January
    of that round; sent, the deciding body's feedback. The round counts from the date of the
    change's last step (`change_step_on`, which a step recorded later with --date gives), not
    from the original application's dates, whose year-only precision does not make the
    change's deadlines approximate."""
    def change(state, step_on, recorded=D(2026, 3, 2)):
        return Service(id=7, name="X", kind="national", state=state, created_at=NOW,
                       state_since=dt.datetime.combine(recorded, dt.time(10), tzinfo=dt.UTC),
                       change_step_on=step_on, submitted_on=D(2009, 1, 1),
                       sent_on=D(2010, 1, 1), approved_on=D(2010, 6, 1),
                       established_on=D(2011, 1, 1),
                       date_precision={"submitted_on": "year", "sent_on": "year"})

    requested = by_rule(change("change_requested", D(2026, 2, 10)))
    assert requested["application_internal"].due_on == D(2026, 8, 31)
    assert not requested["application_internal"].approximate
    assert "decision_feedback" not in requested  # not the original application's, long done
    submitted = by_rule(change("change_submitted", D(2025, 8, 20), recorded=D(2025, 9, 3)))
    assert submitted["application_send"].due_on == D(2026, 1, 15)  # from 20 Aug, not 3 Sept
    assert "round 2026" in submitted["application_send"].label
    late = by_rule(change("change_submitted", D(2025, 9, 2)))["application_send"]
    assert late.due_on == D(2027, 1, 15)  # after 31 August: the round after
    prioritised = by_rule(change("change_prioritised", D(2025, 12, 9)))["application_send"]
    assert prioritised.due_on == D(2026, 1, 15) and prioritised.overdue(TODAY)
    sent = by_rule(change("change_sent", D(2026, 1, 14), recorded=D(2026, 1, 20)))
    assert (sent["decision_feedback"].due_on, sent["decision_feedback"].done) == (
        D(2026, 12, 1), False)
    older = change("change_sent", None, recorded=D(2026, 1, 14))  # from before the column
    assert by_rule(older)["decision_feedback"].due_on == D(2026, 12, 1)
