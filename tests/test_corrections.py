"""Corrections, audited: `member edit`, `coordinator remove`, `region contact` keep the old
and new values and who changed them; a corrected address gets the case's mail and links."""

from __future__ import annotations

from conftest import ADMIN
from sqlmodel import select
from weblive import case_state, links_to, propose, snapshot

from appointer import db
from appointer.clock import Clock
from appointer.models import AuditEvent, OutboxMessage, Token

OLD = "frida.solheim@helse-bergen.example"
NEW = "frida.solheim@helse-fonna.example"
CO = "coord@vest.example"


def audit_rows(settings, case_type: str) -> list[AuditEvent]:
    with db.transaction(settings, Clock()) as tx:
        return list(tx.session.exec(select(AuditEvent).where(AuditEvent.case_type == case_type)
                                    .order_by(AuditEvent.id)))


def test_a_corrected_email_gets_the_invitation_and_the_old_link_dies(
        initialised, clock, cli, smtp_sink, web_client):
    """Email corrected on a proposed case whose invitation went to a wrong address: the next
    delivery (real SMTP) goes to the new address only, the old link answers 410, the new one
    works."""
    case = propose(initialised, clock)["region:vest"]
    [old_link] = links_to(initialised, OLD)
    port = {"APPOINTER_SMTP_PORT": str(smtp_sink.port)}
    cli("mail", "send", env=port)
    assert [m["To"] for m in smtp_sink.messages()] == [OLD]
    out = cli("member", "edit", str(case), "--email", NEW.upper(), actor=CO)
    assert f"corrected email: {OLD} → {NEW}" in out.stdout

    cli("mail", "send", env=port)
    assert [m["To"] for m in smtp_sink.messages()] == [OLD, NEW]
    assert web_client.get(f"/t/{old_link}").status_code == 410
    with db.transaction(initialised, Clock()) as tx:  # dead in the database, not only by role
        old_token = tx.session.exec(select(Token).where(Token.recipient_email == OLD)).one()
    assert old_token.revoked_at is not None
    [new_link] = links_to(initialised, NEW)
    assert web_client.get(f"/t/{new_link}").status_code == 200
    r = web_client.post(f"/t/{new_link}", data={"trigger": "accept", "case": str(case)})
    assert r.status_code == 200 and case_state(initialised, case) == "awaiting_consent"

    [edit] = [h for h in cli.json("member", "history", str(case)) if h["trigger"] == "edit"]
    assert (edit["actor"], edit["from"], edit["to"]) == (CO, "proposed", "proposed")
    assert edit["evidence"]["changes"] == {"email": [OLD, NEW]}
    assert edit["details"] == (f"email: {OLD} → {NEW}; sent again to the new address: "
                               "#2 appointment.candidate.invitation")


def test_a_corrected_leader_address_gets_the_consent_request(steps, cli, smtp_sink):
    """The leader's address corrected while the consent request still waits in the outbox:
    it is cancelled, and goes with a fresh link to the new address only (real SMTP)."""
    sid = steps.service()
    case = steps.propose(sid, "region:vest", region="vest")
    steps.advance(case, "accept")
    cli("member", "edit", str(case), "--leader-email", "ny.leder@leder.example", actor=CO)
    requests = [m for m in steps.outbox() if m.template == "appointment.leader.consent_request"]
    assert [(m.to_addrs, m.status) for m in requests] == [
        (["region-vest@leder.example"], "cancelled"), (["ny.leder@leder.example"], "queued")]
    assert "/t/" in requests[1].body_text
    cli("mail", "send", env={"APPOINTER_SMTP_PORT": str(smtp_sink.port)})
    assert [m["To"] for m in smtp_sink.messages()] == ["ny.leder@leder.example"]
    [edit] = [h for h in cli.json("member", "history", str(case)) if h["trigger"] == "edit"]
    assert f"cancelled unsent mail: #{requests[0].id} appointment.leader.consent_request" \
        in edit["details"]


def test_an_edit_that_breaks_a_rule_is_refused_and_stores_nothing(initialised, clock, cli):
    """An institution that breaks the seat's rule, an address another seat holds, a closed
    case's institution: each one Error line, exit 1, nothing stored."""
    cases = propose(initialised, clock, seats=("region:vest", "region:nord"))
    vest, nord = cases["region:vest"], cases["region:nord"]
    before = snapshot(initialised)
    out = cli("member", "edit", str(vest), "--institution", "Universitetssykehuset Nord-Norge HF",
              actor=CO, expect=1).output
    assert out.startswith("Error: Universitetssykehuset Nord-Norge HF belongs to Helse Nord RHF")
    out = cli("member", "edit", str(nord), "--email", OLD, actor=CO, expect=1).output
    assert f"Error: {OLD} is already in this group's seat region:vest" in out
    out = cli("member", "edit", str(vest), "--leader-email", "ikke-en-adresse", actor=CO,
              expect=1).output
    assert "Error: leader email 'ikke-en-adresse' is not an email address" in out
    out = cli("member", "edit", str(vest), "--email", "knut.aas@helse-bergen.example",
              actor=CO, expect=1).output
    assert "Error: the candidate's leader must be another person than the candidate" in out
    assert snapshot(initialised) == before
    cli("member", "advance", str(vest), "withdraw", actor=CO)
    out = cli("member", "edit", str(vest), "--institution", "Helse Fonna HF", actor=CO,
              expect=1).output
    assert "only a typo in the member's name or email can be corrected" in out
    cli("member", "edit", str(vest), "--name", "Frida Solheim-Berg", actor=CO)
    assert cli.json("member", "show", str(vest))["candidate_name"] == "Frida Solheim-Berg"


def test_a_typo_in_an_appointed_members_name_is_one_audited_row_and_no_mail(steps, cli):
    """A name corrected on an appointed member: one audit row with old → new, no email."""
    sid = steps.service()
    case = steps.propose(sid, "region:vest", region="vest", name="Frdia")
    steps.appoint(case, "vest")
    mail = len(steps.outbox())
    cli("member", "edit", str(case), "--name", "Frida", "--share", "10 %", actor=CO)
    assert len(steps.outbox()) == mail
    history = cli("member", "history", str(case)).output
    assert "name: Frdia → Frida; share: 5 % → 10 %" in history
    edits = [h for h in cli.json("member", "history", str(case)) if h["trigger"] == "edit"]
    assert len(edits) == 1 and edits[0]["to"] == "appointed"


def test_a_removed_coordinator_can_no_longer_act_and_history_keeps_the_name(steps, cli):
    """`coordinator remove` deactivates: --as is refused, the list says inactive, the cases
    they acted on still name them, and the removal itself is audited."""
    sid = steps.service()
    case = steps.propose(sid, "region:vest", region="vest")
    cli("coordinator", "remove", CO, actor=ADMIN)
    listed = {c["email"]: c["state"] for c in cli.json("coordinator", "list")}
    assert listed[CO] == "inactive" and listed["coord@nord.example"] == "active"
    assert "inactive" in cli("coordinator", "list").output
    out = cli("member", "advance", str(case), "withdraw", actor=CO, expect=1).output
    assert out.startswith(f"Error: {CO} was removed as a coordinator and can no longer act")
    assert cli.json("member", "history", str(case))[0]["actor"] == CO
    [removal] = audit_rows(steps.settings, "coordinator")[-1:]
    assert (removal.trigger, removal.actor, removal.from_state, removal.to_state) == (
        "remove", ADMIN, "active", "inactive")
    assert "Coordinator vest" in removal.comment
    cli("coordinator", "remove", CO, actor=ADMIN, expect=1)


def test_a_region_contact_change_is_audited_and_can_be_cleared(initialised, cli):
    """`region contact` keeps old → new and who changed it; --clear removes it (the region's
    coordinators get its mail); EMAIL and --clear together, or neither, is a usage error."""
    cli("region", "contact", "vest", "ny@vest.example", actor=ADMIN)
    cli("region", "contact", "vest", "--clear", actor=ADMIN)
    assert cli.json("region", "list")[1]["contact_email"] is None
    change, clear = audit_rows(initialised, "region")[-2:]
    assert (change.case_id, change.actor, change.evidence["changes"]) == (
        2, ADMIN, {"contact_email": ["contact@vest.example", "ny@vest.example"]})
    assert (clear.from_state, clear.to_state, clear.evidence["changes"]) == (
        "contact set", "no contact", {"contact_email": ["ny@vest.example", None]})
    cli("region", "contact", "vest", "a@vest.example", "--clear", expect=2, actor=ADMIN)
    cli("region", "contact", "vest", expect=2, actor=ADMIN)


def test_no_messages_move_for_a_name_only_edit(steps, cli):
    """Correcting only the name leaves the queued invitation as it is (same address)."""
    sid = steps.service()
    case = steps.propose(sid, "region:vest", region="vest")
    cli("member", "edit", str(case), "--name", "Kandidat V", actor=CO)
    with db.transaction(steps.settings, steps.clock) as tx:
        statuses = [m.status for m in tx.session.exec(select(OutboxMessage))]
    assert statuses == ["queued"]


def test_an_invitation_refused_at_a_mistyped_address_goes_to_the_corrected_one(
        steps, cli, smtp_sink):
    """The server refused the mistyped address (the message failed); after `member edit`
    the invitation is delivered to the corrected address, and the failed one stays failed."""
    sid = steps.service()
    case = steps.propose(sid, "region:vest", region="vest", email="frdia@kandidat.example")
    smtp_sink.refuse["frdia@kandidat.example"] = "550 5.1.1 User unknown"
    port = {"APPOINTER_SMTP_PORT": str(smtp_sink.port)}
    cli("mail", "send", env=port, expect=3)  # exit 3: a message failed for good
    cli("member", "edit", str(case), "--email", "frida@kandidat.example", actor=CO)
    cli("mail", "send", env=port)
    assert [m["To"] for m in smtp_sink.messages()] == ["frida@kandidat.example"]
    assert [(m.to_addrs, m.status) for m in steps.outbox()] == [
        (["frdia@kandidat.example"], "failed"), (["frida@kandidat.example"], "sent")]
