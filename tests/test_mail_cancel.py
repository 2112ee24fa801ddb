"""Mail that no longer applies is cancelled: when a case leaves the state a queued message
was written for, the message is marked cancelled in the same transaction and never sent."""

from __future__ import annotations

import datetime as dt

from appointer import db
from appointer.models import OutboxMessage
from tests.conftest import TODAY


def by_template(steps) -> dict[str, list[OutboxMessage]]:
    out: dict[str, list[OutboxMessage]] = {}
    for m in steps.outbox():
        out.setdefault(m.template, []).append(m)
    return out


def test_a_withdrawn_cases_invitation_is_never_delivered(steps, cli, smtp_sink):
    """`member advance N withdraw` cancels the queued invitation: `mail send` over real SMTP
    never delivers it; `mail list --all` and `member history` show the cancellation."""
    sid = steps.service()
    case = steps.propose(sid, "region:vest", region="vest")
    kept = steps.propose(sid, "region:nord", region="nord")
    cli("member", "advance", str(case), "withdraw", actor="coord@vest.example")
    [invitation, other] = by_template(steps)["appointment.candidate.invitation"]
    assert (invitation.case_id, invitation.status) == (case, "cancelled")
    assert invitation.last_error == "cancelled: the case left proposed (withdraw)"
    assert (other.case_id, other.status) == (kept, "queued")

    cli("mail", "send", env={"APPOINTER_SMTP_PORT": str(smtp_sink.port)})
    delivered = [m["To"] for m in smtp_sink.messages()]
    assert "region-vest@kandidat.example" not in delivered
    assert "region-nord@kandidat.example" in delivered

    listed = {m["id"]: m for m in cli.json("mail", "list", "--all")["messages"]}
    assert listed[invitation.id]["status"] == "cancelled"
    assert invitation.id not in {m["id"] for m in cli.json("mail", "list")["messages"]}
    assert f"#{invitation.id} appointment.candidate.invitation" in cli(
        "member", "history", str(case)).output
    refused = cli("mail", "retry", str(invitation.id), actor="coord@vest.example", expect=1).output
    assert "was cancelled" in refused


def test_an_invitation_answered_by_a_coordinator_is_cancelled(steps):
    """The coordinator records the candidate's answer (by phone): the unsent invitation and
    its link are no longer wanted; the leader's consent request, just written, stays queued."""
    sid = steps.service()
    case = steps.propose(sid, "region:vest", region="vest")
    steps.advance(case, "accept", "vest")
    mail = by_template(steps)
    assert [m.status for m in mail["appointment.candidate.invitation"]] == ["cancelled"]
    [request] = mail["appointment.leader.consent_request"]
    assert (request.status, request.case_state) == ("queued", "awaiting_consent")


def test_the_appoint_step_keeps_its_own_mail(steps):
    """Appointing cancels only what waited for the state it left (the 'ready to appoint'
    notice); the appointment letter and the group notice it writes are sent."""
    sid = steps.service()
    case = steps.propose(sid, "region:vest", region="vest")
    steps.appoint(case, "vest")
    mail = by_template(steps)
    assert [m.status for m in mail["appointment.coordinator.ready"]] == ["cancelled"]
    for template in ("appointment.member.letter", "appointment.group.notice"):
        assert mail[template] and {m.status for m in mail[template]} == {"queued"}, template
        assert {m.case_state for m in mail[template]} == {"appointed"}


def test_a_reminder_for_the_state_left_is_cancelled_and_one_being_sent_is_not(steps, cli):
    """A case reminder is written for the state it reminds about, and cancelled with it; a
    message a sender holds right now (its lease running) is left to that sender."""
    sid = steps.service()
    case = steps.propose(sid, "region:vest", region="vest")
    cli.today = (TODAY + dt.timedelta(days=7)).isoformat()
    cli("remind")
    mail = by_template(steps)
    reminders = [m for t, ms in mail.items() if t.startswith("reminder.case") for m in ms]
    assert reminders and {m.case_state for m in reminders} == {"proposed"}
    [invitation] = mail["appointment.candidate.invitation"]
    with db.transaction(steps.settings, steps.clock) as tx:  # a sender holds the invitation
        row = tx.session.get(OutboxMessage, invitation.id)
        row.lease_until, row.claimed_by = steps.clock.now() + dt.timedelta(minutes=5), "run/1"
    steps.advance(case, "withdraw", "vest")
    after = {m.id: m for m in steps.outbox()}
    assert {after[m.id].status for m in reminders} == {"cancelled"}
    assert after[invitation.id].status == "queued"
