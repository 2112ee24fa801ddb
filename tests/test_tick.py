"""`appointer tick`: the one cron line queues the due reminders and delivers them."""

import datetime as dt

from tests.conftest import TODAY


def test_tick_reminds_and_delivers_once(steps, cli, smtp_sink):
    """A candidate who has not answered for a week gets one reminder, over real SMTP; a second
    tick the same day sends nothing more."""
    service = steps.service()
    steps.propose(service, "region:nord", region="nord")
    invitations = len(steps.outbox())
    env = {"APPOINTER_SMTP_PORT": str(smtp_sink.port)}
    cli.today = (TODAY + dt.timedelta(days=7)).isoformat()
    first = cli.json("tick", env=env)
    assert first["state"] == "ok" and first["remind"]["reminders"] >= 1
    assert first["mail"]["sent"] == len(steps.outbox()) >= invitations + 1
    to_candidate = [m for m in smtp_sink.messages()
                    if m["To"] == "region-nord@kandidat.example"]
    assert len(to_candidate) == 2  # the invitation and the reminder
    again = cli.json("tick", env=env)
    assert again["remind"]["reminders"] == 0 and again["mail"]["sent"] == 0
    assert len(smtp_sink.messages()) == first["mail"]["sent"]


def test_tick_with_the_mail_server_down_keeps_everything_queued(steps, cli):
    """SMTP down: the reminders are still queued (nothing lost), the run exits 1 with a
    one-line reason for cron mail."""
    service = steps.service()
    steps.propose(service, "region:nord", region="nord")
    cli.today = (TODAY + dt.timedelta(days=7)).isoformat()
    result = cli("tick", env={"APPOINTER_SMTP_PORT": "1"}, expect=1)
    assert "stay queued" in result.output
    queued = steps.outbox()
    assert len(queued) >= 2 and all(m.status == "queued" for m in queued)
    assert any(m.template.startswith("reminder.") for m in queued)
