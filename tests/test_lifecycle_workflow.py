"""The service lifecycle on the generic engine: every transition, every forbidden one, who
may fire what, the dates each step records, the emails and the audit trail, on a real
SQLite file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lifecycle_support import (
    BERGEN,
    OUS,
    TODAY,
    apply,
    coordinator,
    counts,
    fire,
    get,
    outbox,
    register,
)
from sqlmodel import select

from appointer import appointments, audit, db, lifecycle
from appointer.clock import Clock
from appointer.engine import Actor, Recipient
from appointer.errors import Forbidden, InvalidInput, NotAllowed
from appointer.mail.render import template_path
from appointer.models import Service, ServiceHost, ServiceName, ServicePredecessor

D = dt.date
# one date per recorded field, in lifecycle order: enough to register a service in any state
DATES = {"submitted_on": D(2024, 8, 1), "prioritised_on": D(2024, 12, 10),
         "sent_on": D(2025, 1, 10), "approved_on": D(2025, 6, 2), "rejected_on": D(2025, 6, 2),
         "established_on": D(2025, 9, 1), "last_evaluated_on": D(2025, 9, 2),
         "phase_out_initiated_on": D(2025, 10, 1), "reorganisation_decided_on": D(2025, 12, 1),
         "phased_out_on": D(2026, 1, 2), "reorganisation_outcome": "discontinue"}


def workflow(settings):
    return lifecycle.load_workflow(settings)


def register_in(settings, state: str) -> int:
    required = workflow(settings).states[state].extra.get("register_requires", [])
    return register(settings, state, **{f: DATES[f] for f in required})


def test_the_lifecycle_file_holds_together(settings):
    """Every state is reachable, described, and every template exists in nb and en."""
    w = workflow(settings)
    assert w.reachable() == set(w.states)
    assert all(s.description for s in w.states.values())
    for template in w.templates():
        for lang in ("nb", "en"):
            assert template_path(settings.templates_dir, template, lang) == \
                f"{lang}/{template}.j2"
    for s in w.states.values():
        for key in ("register_requires", "register_expects"):
            assert set(s.extra.get(key, ())) <= set(lifecycle.RECORDED), (s.name, key)
    assert lifecycle.group_states(w) == {"approved", "established", "change_requested",
                                         "change_submitted", "change_prioritised",
                                         "change_sent", "phase_out_initiated",
                                         "reorganisation_decided"}
    assert w.final_states() == {"rejected", "withdrawn", "phased_out"}
    assert all(n.to == "rhfs_and_service" for t in w.transitions for n in t.notify)
    assert all(t.notify for t in w.transitions)


def test_a_new_service_from_application_to_phase_out(initialised):
    """Each step moves the state, records its date, writes one audit row and tells the four
    RHFs and the service's leader."""
    s = initialised
    sid = apply(s, today=D(2025, 5, 2), leader_name="Leder", leader_email="leder@ous.example",
                requested_by="Norsk pasientforening")
    assert get(s, sid).state == "draft"
    assert counts(s, sid) == (1, 5)
    steps = [  # trigger, region acting, date, options, state, field recorded
        ("submit", "sor-ost", D(2025, 8, 20), {}, "submitted", "submitted_on"),
        ("prioritise", "nord", D(2025, 12, 10), {}, "prioritised", "prioritised_on"),
        ("send", "vest", D(2026, 1, 14), {}, "sent", "sent_on"),
        ("approve", "midt", D(2026, 6, 20), {}, "approved", "approved_on"),
        ("establish", "sor-ost", D(2027, 1, 15), {}, "established", "established_on"),
        ("evaluate", "vest", D(2031, 12, 1), {}, "established", "last_evaluated_on"),
        ("request_change", "sor-ost", D(2032, 1, 10), {"new_name": "Nasjonal tjeneste Y"},
         "change_requested", None),
        # a change goes through the round like an application (002 §4.1)
        ("submit", "sor-ost", D(2032, 8, 20), {}, "change_submitted", None),
        ("prioritise", "nord", D(2032, 12, 10), {}, "change_prioritised", None),
        ("send", "vest", D(2033, 1, 14), {}, "change_sent", None),
        ("approve_change", "nord", D(2033, 2, 1), {}, "established", None),
        ("initiate_phase_out", "sor-ost", D(2033, 3, 3), {}, "phase_out_initiated",
         "phase_out_initiated_on"),
        ("decide_reorganisation", "vest", D(2033, 9, 1), {"outcome": "discontinue"},
         "reorganisation_decided", "reorganisation_decided_on"),
        ("complete_phase_out", "nord", D(2034, 9, 3), {}, "phased_out", "phased_out_on"),
    ]
    for n, (trigger, region, day, options, state, field) in enumerate(steps, start=2):
        got, warnings = fire(s, sid, trigger, region, today=day, date=day, **options)
        assert (got, warnings) == (state, [])
        row = get(s, sid)
        if field:
            assert getattr(row, field) == day
        assert counts(s, sid) == (n, 5 * n), trigger
    row = get(s, sid)
    assert row.name == "Nasjonal tjeneste Y" and row.reorganisation_outcome == "discontinue"
    with db.transaction(s, Clock(TODAY)) as tx:
        trail = [(e.trigger, e.from_state, e.to_state, e.actor)
                 for e in audit.history(tx.session, "service", sid)]
    assert [t[0] for t in trail] == ["apply"] + [step[0] for step in steps]
    assert trail[0][1:] == (None, "draft", "coord@sor-ost.example")
    assert trail[3] == ("send", "prioritised", "sent", "coord@vest.example")


def test_a_deprioritised_application_may_be_revised_and_resubmitted_next_round(initialised):
    """Not picked in December: back to draft, and the next submission heads for a later round."""
    s = initialised
    sid = apply(s, today=D(2025, 5, 2))
    fire(s, sid, "submit", today=D(2025, 8, 29), date=D(2025, 8, 29))
    assert fire(s, sid, "deprioritise", "vest", today=D(2025, 12, 10))[0] == "deprioritised"
    assert fire(s, sid, "revise", today=D(2026, 2, 1))[0] == "draft"
    assert get(s, sid).submitted_on is None
    fire(s, sid, "submit", today=D(2026, 8, 30), date=D(2026, 8, 30))
    from appointer.deadlines import application_round

    assert application_round(get(s, sid), None, D(2026, 8, 30)).year == 2027


@pytest.mark.parametrize("start, trigger", [
    ("draft", "withdraw"), ("submitted", "withdraw"), ("prioritised", "withdraw"),
    ("deprioritised", "withdraw"), ("sent", "reject"),
])
def test_rejected_and_withdrawn_are_final(initialised, start, trigger):
    """There is no appeal: once rejected (or withdrawn) nothing can happen to the case."""
    s = initialised
    sid = register_in(s, start)
    final = fire(s, sid, trigger, date=TODAY if trigger == "reject" else None)[0]
    for other in workflow(s).triggers:
        with pytest.raises(NotAllowed, match="nothing can happen to it any more"):
            fire(s, sid, other)
    assert get(s, sid).state == final


def test_every_trigger_not_allowed_in_a_state_is_refused_and_changes_nothing(initialised):
    """Firing a trigger from the wrong state names what is allowed and stores nothing."""
    s = initialised
    w = workflow(s)
    tried = 0
    for state in w.states:
        if state == w.initial:
            continue
        sid = register_in(s, state)
        before = counts(s, sid)
        for trigger in w.triggers:
            if w.candidates(trigger, state):
                continue
            with pytest.raises(NotAllowed, match=f"service {sid} is {state}"):
                fire(s, sid, trigger)
            tried += 1
        assert counts(s, sid) == before
        assert get(s, sid).state == state
    assert tried > 150


def test_the_host_region_applies_submits_and_establishes_any_region_records_joint_steps(
        initialised):
    """host_coordinator steps are refused to other regions, with who may; joint steps are not."""
    s = initialised
    with pytest.raises(Forbidden, match=r"only a coordinator of the region hosting the service "
                                        r"\(sor-ost\)"):
        apply(s, region="vest")
    with db.transaction(s, Clock(TODAY)) as tx:
        assert tx.session.exec(select(Service)).all() == []  # nothing half-made
    sid = apply(s)
    with pytest.raises(Forbidden, match="coord@nord.example may not submit"):
        fire(s, sid, "submit", "nord")
    fire(s, sid, "submit")
    assert fire(s, sid, "prioritise", "nord")[0] == "prioritised"
    multi = register(s, "approved", kind="multiregional", hosts=(OUS, BERGEN),
                     approved_on=D(2026, 1, 20))
    assert fire(s, multi, "establish", "vest")[0] == "established"  # either host region


def test_a_link_recipient_or_the_system_may_not_move_a_service(initialised):
    """Only coordinators fire lifecycle triggers; a candidate, leader or cron may not."""
    s = initialised
    sid = register(s, "sent", sent_on=D(2026, 1, 10))
    for kind in ("candidate", "leader", "system"):
        with db.transaction(s, Clock(TODAY)) as tx:
            with pytest.raises(Forbidden, match="only a registered coordinator"):
                lifecycle.advance(tx, sid, "approve", Actor(kind=kind, email="x@y.example"))


def test_step_dates_are_not_in_the_future_nor_before_what_is_recorded(initialised):
    """A step is dated when it happened; dates run forward; a date means nothing for some."""
    s = initialised
    sid = register(s, "sent", sent_on=D(2026, 1, 10))
    with pytest.raises(InvalidInput, match="after today"):
        fire(s, sid, "approve", date=TODAY + dt.timedelta(days=1))
    with pytest.raises(InvalidInput, match=r"before the date the service was sent \(2026-01-10\)"):
        fire(s, sid, "approve", date=D(2026, 1, 9))
    draft = apply(s)
    with pytest.raises(InvalidInput, match="--date has no meaning for 'withdraw'"):
        fire(s, draft, "withdraw", date=TODAY)
    with pytest.raises(InvalidInput, match="--outcome has no meaning for 'approve'"):
        fire(s, sid, "approve", outcome="network")
    assert counts(s, sid) == (1, 0) and get(s, sid).state == "sent"
    assert fire(s, sid, "approve", date=D(2026, 1, 10))[0] == "approved"


def test_decide_reorganisation_needs_an_outcome_and_a_name_for_a_new_record(initialised):
    """--outcome is required; network or centre needs the successor's name, others refuse it."""
    s = initialised
    sid = register(s, "phase_out_initiated", kind="competence", function="training",
                   established_on=D(2021, 1, 4), phase_out_initiated_on=D(2025, 6, 2))
    with pytest.raises(InvalidInput, match="needs --outcome: discontinue"):
        fire(s, sid, "decide_reorganisation")
    with pytest.raises(InvalidInput, match="give its name"):
        fire(s, sid, "decide_reorganisation", outcome="network")
    with pytest.raises(InvalidInput, match="applies to the outcomes network and centre only"):
        fire(s, sid, "decide_reorganisation", outcome="discontinue", successor_name="Z")
    assert get(s, sid).state == "phase_out_initiated"


def test_a_competence_service_continuing_as_a_network_links_to_a_new_record(initialised):
    """The successor is a network at the same host, approved on the decision's date, due to
    work a year later, with its own reference group to build."""
    s = initialised
    sid = register(s, "phase_out_initiated", kind="competence", function="training",
                   established_on=D(2021, 1, 4), phase_out_initiated_on=D(2025, 6, 2))
    fire(s, sid, "decide_reorganisation", "vest", date=D(2025, 12, 1), outcome="network",
         successor_name="Nasjonalt kvalitets- og kompetansenettverk for Z",
         successor_name_en="National Network for Z")
    with db.transaction(s, Clock(TODAY)) as tx:
        new = tx.session.exec(select(Service).join(
            ServicePredecessor, ServicePredecessor.service_id == Service.id)
            .where(ServicePredecessor.predecessor_id == sid)).one()
        assert (new.kind, new.state, new.approved_on) == ("network", "approved", D(2025, 12, 1))
        assert new.name_en == "National Network for Z"
        host = tx.session.exec(select(ServiceHost).where(ServiceHost.service_id == new.id)).one()
        assert host.institution_id == tx.session.exec(
            select(ServiceHost).where(ServiceHost.service_id == sid)).one().institution_id
        assert [e.trigger for e in audit.history(tx.session, "service", new.id)] == ["register"]
        from appointer.deadlines import service_deadlines

        due = {d.rule: d.due_on for d in service_deadlines(new, tx.settings, TODAY)}
        assert due["establishment_due"] == D(2026, 12, 1)
        fired, _ = appointments.propose_member(
            tx, new.id, "region:nord", name="Nina Berg", email="nina@unn.example",
            institution="Universitetssykehuset Nord-Norge HF", leader_name="Ola",
            leader_email="ola@unn.example", share="5 %", represents=None,
            actor=coordinator(tx, "nord"))
        assert fired.case.state == "proposed"
    assert any("Nasjonalt kvalitets- og kompetansenettverk for Z" in m.body_text
               for m in outbox(s, sid))


def test_a_name_change_is_applied_for_then_approved_or_rejected_with_its_history(initialised):
    """The approved Norwegian and English names are kept with the date each took effect; a
    rejected name leaves the history and stays in the audit trail."""
    s = initialised
    sid = register(s, name="Nasjonal tjeneste for A", name_en="National Service for A",
                   approved_on=D(2018, 5, 2), established_on=D(2019, 1, 2))
    register(s, name="Nasjonal tjeneste for C")
    with pytest.raises(InvalidInput, match="say what is to change"):
        fire(s, sid, "request_change")
    with pytest.raises(InvalidInput, match="'Nasjonal tjeneste for C' is already registered"):
        fire(s, sid, "request_change", new_name="Nasjonal tjeneste for C")
    fire(s, sid, "request_change", date=D(2025, 1, 6), new_name="Nasjonal tjeneste for B",
         new_name_en="National Service for B")
    with pytest.raises(NotAllowed, match="allowed: submit, withdraw"):  # not outside the round
        fire(s, sid, "approve_change", "vest", date=D(2025, 6, 2))
    for trigger in ("submit", "prioritise", "send"):
        fire(s, sid, trigger, date=D(2025, 1, 6))
    assert get(s, sid).name == "Nasjonal tjeneste for A"  # not before the decision
    fire(s, sid, "approve_change", "vest", date=D(2025, 6, 2))
    row = get(s, sid)
    assert (row.name, row.name_en) == ("Nasjonal tjeneste for B", "National Service for B")
    fire(s, sid, "request_change", date=D(2025, 9, 1), new_name="Nasjonal tjeneste for D")
    for trigger in ("submit", "prioritise", "send"):
        fire(s, sid, trigger, date=D(2025, 9, 1))
    fire(s, sid, "reject_change", "nord", date=D(2026, 1, 5))
    with db.transaction(s, Clock(TODAY)) as tx:
        names = [(n.name, n.name_en, n.valid_from, n.approved) for n in tx.session.exec(
            select(ServiceName).where(ServiceName.service_id == sid).order_by(ServiceName.id))]
        last = audit.history(tx.session, "service", sid)[-1]
    assert names == [("Nasjonal tjeneste for A", "National Service for A", D(2018, 5, 2), True),
                     ("Nasjonal tjeneste for B", "National Service for B", D(2025, 6, 2), True)]
    assert (last.trigger, last.evidence["name"]) == ("reject_change", "Nasjonal tjeneste for D")
    assert get(s, sid).name == "Nasjonal tjeneste for B"


def test_a_reference_group_is_built_from_approval_on(initialised):
    """Proposals for an application, or a service that never became one, are refused."""
    s = initialised
    for state, message in [("draft", "is still an application"),
                           ("sent", "is still an application"),
                           ("rejected", "never became a national service"),
                           ("phased_out", "has no reference group any more")]:
        sid = register_in(s, state)
        with db.transaction(s, Clock(TODAY)) as tx:
            with pytest.raises(InvalidInput, match=message):
                appointments.request_member(tx, sid, "region:nord", coordinator(tx, "nord"))
    sid = register_in(s, "approved")
    with db.transaction(s, Clock(TODAY)) as tx:
        fired = appointments.request_member(tx, sid, "region:nord", coordinator(tx, "nord"))
        assert fired.case.state == "requested"


def test_steps_against_what_the_rules_say_should_happen_are_warned_about(initialised):
    """Late establishment, a late joint application, a short phase-out or a late initiative
    are recorded (they happened) with a warning naming the rule."""
    s = initialised
    sid = register(s, "prioritised", prioritised_on=D(2025, 12, 10))
    assert fire(s, sid, "send", date=D(2026, 1, 16))[1] == [
        "sent after 2026-01-15: the application belongs to round 2027"]
    sid = register(s, "approved", approved_on=D(2024, 2, 29))
    assert "established 4 days after the limit (2025-02-28" in \
        fire(s, sid, "establish", date=D(2025, 3, 4))[1][0]
    sid = register(s, "established", kind="competence", function="training",
                   established_on=D(2021, 1, 4))
    assert "it should have started by 2024-07-04" in \
        fire(s, sid, "initiate_phase_out", date=D(2025, 1, 6))[1][0]
    fire(s, sid, "decide_reorganisation", date=D(2025, 6, 2), outcome="discontinue")
    assert "completed before 2026-07-06" in fire(s, sid, "complete_phase_out",
                                                 date=D(2026, 3, 2))[1][0]


def test_every_step_emails_the_four_rhfs_and_the_leader_in_their_language(initialised):
    """One message per recipient, rendered in the same transaction: the RHFs' contacts in
    bokmål, a leader who reads English in English, with the coming deadlines."""
    s = initialised
    sid = register(s, "sent", sent_on=D(2026, 1, 10))
    with db.transaction(s, Clock(TODAY)) as tx:
        svc = tx.session.get(Service, sid)
        svc.lang = "en"
        tx.session.add(svc)
    fire(s, sid, "approve", "midt", date=D(2026, 2, 27), comment="Vedtak 2026/123")
    mails = outbox(s, sid)
    assert sorted(m.to_addrs[0] for m in mails) == sorted(
        [f"contact@{c}.example" for c in ("sor-ost", "vest", "midt", "nord")]
        + ["leder@tjeneste.example"])
    nb = next(m for m in mails if m.to_addrs == ["contact@vest.example"])
    assert nb.lang == "nb" and nb.subject.endswith("– godkjent")
    assert "Helse- og omsorgsdepartementet godkjente" in nb.body_text
    assert "27. februar 2026" in nb.body_text
    assert "- 27. februar 2027: tjenesten etablert" in nb.body_text
    assert "Kommentar: Vedtak 2026/123" in nb.body_text
    assert "<li>27. februar 2027: tjenesten etablert" in nb.body_html
    assert nb.reply_to == "contact@midt.example"
    en = next(m for m in mails if m.to_addrs == ["leder@tjeneste.example"])
    assert en.lang == "en" and en.subject.endswith("– approved")
    assert "27 February 2027: service established" in en.body_text


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_each_trigger_has_its_own_wording_in_both_languages(settings, lang):
    """No step falls through to an empty message: each trigger's subject and text differ."""
    from appointer.mail.render import render

    w = workflow(settings)
    base = dict(service=Service(id=3, name="Tjeneste <X>", kind="competence",
                                established_on=D(2025, 1, 1), requested_by="Foreningen"),
                hosts=[OUS], date=D(2026, 3, 2), comment=None, outcome="network",
                successor=None, previous_name=None, rejected_name=None, new_name=None,
                round=None, deadlines=[], deciding_body="Helsedirektoratet",
                deciding_body_copy="", link=None, state="x",
                recipient=Recipient("contact@vest.example", "Helse Vest RHF"))
    from appointer.deadlines import round_of

    base["round"] = round_of(2026)
    seen = set()
    for trigger in w.triggers:
        msg = render(settings.templates_dir, "lifecycle.notice", lang,
                     {**base, "trigger": trigger})
        assert msg.subject and "Tjeneste <X>" in msg.subject
        body = msg.text.split("\n\n")[1]
        assert body.strip(), trigger
        seen.add((msg.subject, body))
        assert "&lt;X&gt;" in msg.html and "<X>" not in msg.html
    assert len(seen) == len(w.triggers)


def test_the_templates_are_named_in_the_workflow_file():
    """The lifecycle templates on disk are the ones the file names (none orphaned)."""
    root = Path(__file__).resolve().parent.parent
    on_disk = {p.name for p in (root / "mail_templates" / "nb").glob("lifecycle.*.j2")}
    assert on_disk == {"lifecycle.notice.j2"}
    assert on_disk == {p.name for p in (root / "mail_templates" / "en").glob("lifecycle.*.j2")}


def test_a_change_recorded_late_counts_its_round_from_the_dates_given(initialised):
    """Steps of a change recorded days later with --date put it in the round of those dates
    (submitted 20 August, recorded 3 September: still the next 15 January), as the agenda,
    the calendar and the reminders show."""
    from appointer.deadlines import service_deadlines

    s = initialised
    sid = register(s, approved_on=D(2018, 5, 2), established_on=D(2019, 1, 2),
                   today=D(2025, 6, 2))
    recorded = D(2025, 9, 3)
    fire(s, sid, "request_change", today=recorded, date=D(2025, 8, 10),
         new_name="Nasjonal tjeneste for E")
    fire(s, sid, "submit", today=recorded, date=D(2025, 8, 20))
    due = {d.rule: d.due_on for d in service_deadlines(get(s, sid), s, recorded)}
    assert due["application_send"] == D(2026, 1, 15)
    fire(s, sid, "prioritise", today=D(2025, 12, 9), date=D(2025, 12, 9))
    fire(s, sid, "send", today=D(2026, 1, 20), date=D(2026, 1, 14))
    due = {d.rule: d.due_on for d in service_deadlines(get(s, sid), s, D(2026, 1, 20))}
    assert due["decision_feedback"] == D(2026, 12, 1)
    assert get(s, sid).change_step_on == D(2026, 1, 14)
