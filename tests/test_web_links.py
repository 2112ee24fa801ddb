"""The confirmation-link pages over real HTTP (uvicorn on an ephemeral port, httpx): what a
link shows, what its button does, and every way a link is refused with nothing changed."""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import select
from weblive import case_state, links_to, propose, snapshot

from appointer import appointments
from appointer.clock import Clock
from appointer.db import transaction
from appointer.models import AuditEvent, OutboxMessage

CANDIDATE = "frida.solheim@helse-bergen.example"
LEADER = "knut.aas@helse-bergen.example"


@pytest.fixture
def case(initialised, clock):
    """Case id of a regional seat proposed to Frida Solheim (a link is in her invitation)."""
    return propose(initialised, clock)["region:vest"]


def token_of(settings, email=CANDIDATE, index=-1) -> str:
    return links_to(settings, email)[index]


def test_get_shows_the_question_and_changes_nothing(initialised, case, web_client):
    """Opening the link (as a person or a mail scanner) shows what is asked and changes nothing."""
    raw = token_of(initialised)
    before = snapshot(initialised)
    r = web_client.get(f"/t/{raw}")
    assert r.status_code == 200
    page = r.text
    for expected in ("Nasjonal behandlingstjeneste for epilepsikirurgi", "plassen for Helse Vest",
                     "spesialisthelsetjenesten i helseregion Vest", "5 %", "Helse Bergen HF",
                     "https://appointer.example.no/mandate/national?lang=nb",
                     '<form method="post">', 'value="accept"', 'value="decline"',
                     "contact@vest.example"):
        assert expected in page, expected
    assert "<script" not in page.lower() and "http-equiv" not in page.lower()
    assert snapshot(initialised) == before


def test_head_changes_nothing(initialised, case, web_client):
    """Scanners that send HEAD get the headers of the page and change nothing."""
    raw = token_of(initialised)
    before = snapshot(initialised)
    r = web_client.head(f"/t/{raw}")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["cache-control"] == "no-store"
    assert snapshot(initialised) == before


def test_accept_then_consent_fire_through_the_engine(initialised, case, web_client):
    """The candidate's button advances the case, queues the leader's request with a fresh link,
    and the leader's button clears it; the audit names each person with the evidence."""
    raw = token_of(initialised)
    r = web_client.post(f"/t/{raw}", data={"trigger": "accept", "case": str(case), "comment": "gjerne"},
                  headers={"user-agent": "Phone browser 1.0"})
    assert r.status_code == 200, r.text
    assert "Takk, svaret er registrert" in r.text and "Knut Aas" in r.text
    assert case_state(initialised, case) == "awaiting_consent"

    leader_links = links_to(initialised, LEADER)
    assert len(leader_links) == 1 and leader_links[0] != raw
    page = web_client.get(f"/t/{leader_links[0]}").text
    assert 'value="consent"' in page and 'value="refuse"' in page and "Frida Solheim" in page

    r = web_client.post(f"/t/{leader_links[0]}", data={"trigger": "consent", "case": str(case)})
    assert r.status_code == 200 and case_state(initialised, case) == "ready"
    with transaction(initialised) as tx:
        rows = tx.session.exec(select(AuditEvent).where(AuditEvent.case_id == case)
                               .order_by(AuditEvent.id)).all()
        ready = tx.session.exec(select(OutboxMessage).where(
            OutboxMessage.template == "appointment.coordinator.ready")).all()
    accept, consent = rows[-2], rows[-1]
    assert (accept.actor, accept.actor_kind, accept.trigger, accept.comment) == (
        CANDIDATE, "candidate", "accept", "gjerne")
    assert accept.evidence["ip"] == "127.0.0.1"
    assert accept.evidence["user_agent"] == "Phone browser 1.0"
    assert accept.evidence["via"] == "link"
    assert (consent.actor, consent.actor_kind, consent.trigger) == (LEADER, "leader", "consent")
    assert [m.to_addrs for m in ready] == [["coord@vest.example"]]


def test_user_representative_goes_straight_to_ready(initialised, clock, web_client):
    """A user representative has no leader to ask: accepting makes the case ready to appoint."""
    case = propose(initialised, clock, seats=("user:1",))["user:1"]
    raw = token_of(initialised, "jon.bakke@epilepsiforbundet.example")
    page = web_client.get(f"/t/{raw}").text
    assert "brukerrepresentant 1" in page and "Deretter oppnevner Helse Sør-Øst RHF deg" in page
    r = web_client.post(f"/t/{raw}", data={"trigger": "accept", "case": str(case)})
    assert r.status_code == 200 and case_state(initialised, case) == "ready"


def test_reuse_is_refused_as_already_answered(initialised, case, web_client):
    """A second submit of a used link (double click, second tab) changes nothing and says so."""
    raw = token_of(initialised)
    assert web_client.post(f"/t/{raw}", data={"trigger": "accept", "case": str(case)}).status_code == 200
    after_first = snapshot(initialised)
    for trigger in ("accept", "decline"):
        r = web_client.post(f"/t/{raw}", data={"trigger": trigger, "case": str(case)})
        assert r.status_code == 410
        assert "Du har allerede svart" in r.text and "«Ja, jeg tar oppdraget»" in r.text
    assert web_client.get(f"/t/{raw}").status_code == 410
    assert snapshot(initialised) == after_first


def test_link_expires_after_token_days(initialised, case, web, web_client):
    """A link works for `token_days` (30) of real time and is refused after, with nothing
    changed."""
    raw = token_of(initialised)
    start, issued = web.app.state.clock.today(), dt.datetime.now(dt.UTC)
    web.app.state.clock = Clock(start + dt.timedelta(days=29), issued + dt.timedelta(days=29))
    assert web_client.get(f"/t/{raw}").status_code == 200
    web.app.state.clock = Clock(start + dt.timedelta(days=31), issued + dt.timedelta(days=31))
    before = snapshot(initialised)
    r = web_client.get(f"/t/{raw}")
    assert r.status_code == 410 and "Lenken er utløpt" in r.text and "contact@vest.example" in r.text
    r = web_client.post(f"/t/{raw}", data={"trigger": "accept", "case": str(case)})
    assert r.status_code == 410 and "Lenken er utløpt" in r.text
    assert snapshot(initialised) == before


def test_link_dies_when_the_case_moves_on_by_another_path(initialised, case, web_client):
    """When the coordinator records the answer, the emailed link no longer works."""
    raw = token_of(initialised)
    with transaction(initialised) as tx:
        actor = appointments.resolve_actor(tx.session, "coord@vest.example")
        appointments.advance(tx, case, "accept", actor, "answered by phone", evidence="telefon")
    before = snapshot(initialised)
    r = web_client.get(f"/t/{raw}")
    assert r.status_code == 410 and "Saken har gått videre" in r.text
    r = web_client.post(f"/t/{raw}", data={"trigger": "decline", "case": str(case)})
    assert r.status_code == 410
    assert snapshot(initialised) == before and case_state(initialised, case) == "awaiting_consent"


def test_a_link_dies_with_its_step_even_when_the_case_comes_back(initialised, clock,
                                                                web_server, tmp_path):
    """Workflows are data: an RHF may add a step that leaves a case where it was (asking the
    candidate again, with a new link). That step revokes the link from before it: a link is
    for one visit to a state, not for the state."""
    from appointer import settings as settings_mod
    from appointer.web import create_app

    custom = tmp_path / "workflows"
    shutil.copytree(initialised.workflows_dir, custom)
    with (custom / "appointment.toml").open("a", encoding="utf-8") as f:
        f.write('\n[[transitions]]\ntrigger = "ask_again"\nsource = "proposed"\n'
                'dest = "proposed"\nwho = ["appointing_coordinator"]\n'
                'notify = [{ template = "appointment.candidate.invitation", to = "candidate", '
                'links = ["accept", "decline"] }]\n')
    settings = settings_mod.replace(initialised, workflows_dir=str(custom))
    case = propose(settings, clock)["region:vest"]
    first = token_of(settings)
    with transaction(settings, clock) as tx:
        actor = appointments.resolve_actor(tx.session, "coord@vest.example")
        appointments.advance(tx, case, "ask_again", actor)
    second = token_of(settings)
    assert second != first and case_state(settings, case) == "proposed"
    try:
        with httpx.Client(base_url=web_server.serve(create_app(settings, clock)).url,
                          timeout=20) as client:
            before = snapshot(settings)
            assert client.get(f"/t/{first}").status_code == 410
            r = client.post(f"/t/{first}", data={"trigger": "accept", "case": str(case)})
            assert r.status_code == 410 and snapshot(settings) == before
            assert client.get(f"/t/{second}").status_code == 200
    finally:
        web_server.app = None


def test_token_for_another_case_is_refused(initialised, clock, web_client):
    """A link answers its own case only: posting it with another case's id changes neither."""
    ids = propose(initialised, clock, seats=("region:vest", "region:nord"))
    raw_vest = token_of(initialised)
    before = snapshot(initialised)
    r = web_client.post(f"/t/{raw_vest}", data={"trigger": "accept", "case": str(ids["region:nord"])})
    assert r.status_code == 400 and "Lenken gjelder en annen sak" in r.text
    assert snapshot(initialised) == before
    assert case_state(initialised, ids["region:vest"]) == "proposed"


# the random token's id is fixed: every xdist worker must collect the same test names
@pytest.mark.parametrize("raw", [pytest.param(secrets.token_urlsafe(24), id="random"), "abc",
                                 "x" * 300, "%00%2e%2e", "..%2F..%2Fetc%2Fpasswd"])
def test_forged_and_malformed_links_look_unknown(initialised, case, web_client, raw):
    """A forged or garbled link gets the same 'unknown' page as any unknown one; nothing changes."""
    reference = web_client.get(f"/t/{secrets.token_urlsafe(24)}")
    before = snapshot(initialised)
    r = web_client.get(f"/t/{raw}")
    assert r.status_code == 404
    assert r.text == reference.text  # the same page: no detail that helps guessing
    r = web_client.post(f"/t/{raw}", data={"trigger": "accept", "case": str(case)})
    assert r.status_code == 404 and "Traceback" not in r.text
    assert snapshot(initialised) == before


@pytest.mark.parametrize("trigger", ["consent", "appoint", "withdraw", "", "ACCEPT"])
def test_a_trigger_the_link_does_not_offer_is_refused(initialised, case, web_client, trigger):
    """The candidate's link cannot consent for the leader or appoint; nothing changes."""
    raw = token_of(initialised)
    before = snapshot(initialised)
    r = web_client.post(f"/t/{raw}", data={"trigger": trigger, "case": str(case)})
    assert r.status_code == 400 and "Dette svaret kan ikke gis her" in r.text
    assert snapshot(initialised) == before
    assert web_client.get(f"/t/{raw}").status_code == 200  # the link still works for its own answers


def test_a_post_without_the_form_is_refused(initialised, case, web_client):
    """A bare POST (no form) is a friendly 'something was missing' page, not a crash."""
    raw = token_of(initialised)
    before = snapshot(initialised)
    r = web_client.post(f"/t/{raw}", content=b"\xff\xfe", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "Traceback" not in r.text
    assert snapshot(initialised) == before


def test_twenty_concurrent_posts_make_one_transition(initialised, case, web):
    """The same link submitted 20 times at once: one transition, one audit row, one leader
    email; every other submit is told the link was already answered."""
    raw = token_of(initialised)
    audit_before = len(snapshot(initialised)["audit"])
    barrier = threading.Barrier(20)

    def submit(_):
        with httpx.Client(base_url=web.url, timeout=60) as client:
            barrier.wait()
            return client.post(f"/t/{raw}", data={"trigger": "accept", "case": str(case)})

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(submit, range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [410] * 19, statuses
    assert all("Du har allerede svart" in r.text for r in responses if r.status_code == 410)
    after = snapshot(initialised)
    assert len(after["audit"]) == audit_before + 1
    assert len(links_to(initialised, LEADER)) == 1
    assert case_state(initialised, case) == "awaiting_consent"
