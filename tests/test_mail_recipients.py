"""Who gets what: every appointment transition queues exactly the messages the workflow file
names, to exactly the people the issue lists, each once."""

from __future__ import annotations

from collections import Counter

import pytest

from appointer import appointments, db
from appointer.models import Region, Service

SERVICE = "leder@tjenesten.example"  # the service's leader (see Steps.service)
REGIONS = ("sor-ost", "vest", "midt", "nord")


def coord(region):
    return f"coord@{region}.example"


def contact(region):
    return f"contact@{region}.example"


@pytest.fixture
def workflow(initialised):
    return appointments.load_workflow(initialised)


def templates_for(workflow, trigger, source, dest):
    """What the workflow file says this transition sends (template → recipient group)."""
    spec = next(t for t in workflow.transitions
                if t.trigger == trigger and source in t.source and t.dest == dest)
    return {n.template: n.to for n in spec.notify}


def sent(steps, fired) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for row in steps.outbox(fired.outbox_ids):
        for to in row.to_addrs:
            out.setdefault(row.template, Counter())[to] += 1
    return out


def expect(steps, workflow, fired, source, **by_group):
    """`by_group`: recipient-group name in the workflow file → the addresses it must reach."""
    declared = templates_for(workflow, fired.trigger, source, fired.to_state)
    wanted = {template: Counter(by_group[group]) for template, group in declared.items()}
    assert sent(steps, fired) == wanted


def test_each_step_reaches_the_people_the_mandate_names(steps, workflow):
    """Request → the region's contact; proposal → the candidate; acceptance → the leader;
    consent → the appointing coordinators; appointment → the member, the service, the group
    and the other RHFs — each once, and the new member not twice."""
    sid = steps.service()

    fired = steps.request(sid, "region:nord", region="sor-ost")
    expect(steps, workflow, fired, "new", appointing_contact=[contact("nord")])

    nord = steps.propose(sid, "region:nord")
    fired = steps.advance(nord, "accept")  # (propose fills the open request)
    expect(steps, workflow, fired, "proposed", leader=["region-nord@leder.example"])
    fired = steps.advance(nord, "consent")
    expect(steps, workflow, fired, "awaiting_consent", appointing_coordinators=[coord("nord")])
    fired = steps.advance(nord, "appoint", region="nord")
    expect(steps, workflow, fired, "ready",
           candidate=["region-nord@kandidat.example"],
           service_group_and_rhfs=[SERVICE, contact("sor-ost"), contact("vest"), contact("midt")])

    vest = steps.propose(sid, "region:vest")
    fired = steps.appoint(vest, "vest")
    expect(steps, workflow, fired, "ready",
           candidate=["region-vest@kandidat.example"],
           service_group_and_rhfs=[SERVICE, "region-nord@kandidat.example",
                                   contact("sor-ost"), contact("midt"), contact("nord")])

    # a user representative has no leader: acceptance goes straight to the coordinators
    user = steps.propose(sid, "user:1")
    fired = steps.advance(user, "accept")
    expect(steps, workflow, fired, "proposed", appointing_coordinators=[coord("sor-ost")])
    fired = steps.advance(user, "appoint")
    expect(steps, workflow, fired, "ready",
           candidate=["user-1@kandidat.example"],
           service_group_and_rhfs=[SERVICE, "region-nord@kandidat.example",
                                   "region-vest@kandidat.example",
                                   contact("vest"), contact("midt"), contact("nord")])


def test_the_service_leader_appointed_to_the_service_seat_gets_the_letter_only(steps, workflow):
    """The service's own leader holding the service seat is the member and the service at
    once: the letter is enough, the word of the appointment is not sent to them again."""
    sid = steps.service()
    case = steps.propose(sid, "service", email=SERVICE, institution="Oslo universitetssykehus HF")
    fired = steps.appoint(case, "sor-ost")
    expect(steps, workflow, fired, "ready", candidate=[SERVICE],
           service_group_and_rhfs=[contact("vest"), contact("midt"), contact("nord")])


@pytest.mark.parametrize("path, source, region", [
    (["decline"], "proposed", "midt"),
    (["accept", "refuse"], "awaiting_consent", "midt"),
    (["accept", "consent", "reject"], "ready", "midt"),
    (["withdraw"], "proposed", "sor-ost"),
    (["accept", "consent", "appoint", "end"], "appointed", "midt"),
])
def test_a_closed_case_tells_the_service_and_the_coordinators(steps, workflow, path, source,
                                                                region):
    """Declined, refused, rejected, withdrawn or ended: the service and the appointing region's
    coordinators hear of it, so a new candidate can be found."""
    sid = steps.service()
    case = steps.propose(sid, "region:midt")
    for trigger in path:
        # the appointing region acts; the candidate and the leader answer themselves
        by = "midt" if trigger in ("appoint", "reject", "end", "withdraw") else None
        fired = steps.advance(case, trigger, region=by,
                              reason="sluttet i stillingen" if trigger == "end" else None)
    expect(steps, workflow, fired, source,
           service_and_coordinators=[SERVICE, coord("midt")])


def test_a_withdrawn_request_tells_the_service_and_the_coordinators(steps, workflow):
    """Withdrawing a request for a candidate is also word to the service and coordinators."""
    sid = steps.service()
    case = steps.request(sid, "region:vest").case.id
    fired = steps.advance(case, "withdraw")
    expect(steps, workflow, fired, "requested", service_and_coordinators=[SERVICE, coord("vest")])


def test_a_region_without_a_contact_address_is_reached_through_its_coordinators(
        steps, workflow, initialised, clock):
    """Each region's contact address, or its coordinators where none is set (the issue)."""
    with db.transaction(initialised, clock) as tx:
        tx.session.get(Region, "midt").contact_email = None
        tx.session.get(Region, "nord").contact_email = None
    sid = steps.service()
    fired = steps.request(sid, "region:nord")
    expect(steps, workflow, fired, "new", appointing_contact=[coord("nord")])
    case = steps.propose(sid, "region:vest")
    fired = steps.appoint(case, "vest")
    expect(steps, workflow, fired, "ready", candidate=["region-vest@kandidat.example"],
           service_group_and_rhfs=[SERVICE, contact("sor-ost"), coord("midt"), coord("nord")])


def test_an_address_with_two_roles_gets_each_message_once(steps, workflow, initialised,
                                                          clock):
    """One message per address: two regions with one contact address, and a coordinator who
    also leads the service, get the word once each, not once per role."""
    shared = "felles@rhf.example"
    with db.transaction(initialised, clock) as tx:
        tx.session.get(Region, "midt").contact_email = shared
        tx.session.get(Region, "nord").contact_email = shared
    sid = steps.service()
    case = steps.propose(sid, "region:vest")
    fired = steps.appoint(case, "vest")
    expect(steps, workflow, fired, "ready", candidate=["region-vest@kandidat.example"],
           service_group_and_rhfs=[SERVICE, contact("sor-ost"), shared])

    with db.transaction(initialised, clock) as tx:
        tx.session.get(Service, sid).leader_email = coord("midt")
    case = steps.propose(sid, "region:midt")
    fired = steps.advance(case, "decline")
    expect(steps, workflow, fired, "proposed", service_and_coordinators=[coord("midt")])


def test_replies_go_to_the_acting_regions_contact(steps):
    """Reply-To is the contact address of the region whose coordinator acted; a candidate's
    own answer (through the link) replies to the appointing region."""
    sid = steps.service()
    asked = steps.request(sid, "region:nord", region="sor-ost")  # the service's region asks
    assert {r.reply_to for r in steps.outbox(asked.outbox_ids)} == {contact("sor-ost")}
    case = steps.propose(sid, "region:nord")
    [invitation] = [m for m in steps.outbox() if m.template.endswith("invitation")]
    assert invitation.reply_to == contact("nord")
    fired = steps.advance(case, "accept", region="nord")
    assert {r.reply_to for r in steps.outbox(fired.outbox_ids)} == {contact("nord")}

    from appointer import engine

    with db.transaction(steps.settings, steps.clock) as tx:
        row = appointments.get_case(tx.session, case)
        me = engine.Actor(kind="leader", email=row.leader_email)
        fired = engine.fire(tx, appointments.load_workflow(tx), row, "consent", me)
    assert {r.reply_to for r in steps.outbox(fired.outbox_ids)} == {contact("nord")}


def test_the_workflow_file_names_a_message_for_every_step_the_issue_lists(workflow):
    """The file, not Python, says who gets what; these are the steps and groups the issue
    asks for, so an edit that drops one is caught."""
    sends = {(t.trigger, t.dest): {(n.template, n.to) for n in t.notify}
             for t in workflow.transitions}
    closed = {("appointment.service.case_closed", "service_and_coordinators")}
    assert sends[("request", "requested")] == {("appointment.region.candidate_request",
                                                "appointing_contact")}
    assert sends[("propose", "proposed")] == {("appointment.candidate.invitation", "candidate")}
    assert sends[("accept", "awaiting_consent")] == {("appointment.leader.consent_request",
                                                      "leader")}
    assert sends[("accept", "ready")] == sends[("consent", "ready")] == {
        ("appointment.coordinator.ready", "appointing_coordinators")}
    assert sends[("appoint", "appointed")] == {("appointment.member.letter", "candidate"),
                                               ("appointment.group.notice",
                                                "service_group_and_rhfs")}
    for trigger, dest in [("decline", "declined"), ("refuse", "refused"), ("reject", "rejected"),
                          ("withdraw", "withdrawn"), ("end", "ended")]:
        assert sends[(trigger, dest)] == closed, trigger
    links = {(t.trigger, t.dest): {n.links for n in t.notify} for t in workflow.transitions}
    assert links[("propose", "proposed")] == {("accept", "decline")}
    assert links[("accept", "awaiting_consent")] == {("consent", "refuse")}
