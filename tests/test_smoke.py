"""The sink fixture works: a real SMTP server accepts a message on an ephemeral port."""

import smtplib


def test_sink_receives_over_real_smtp(smtp_sink):
    """Tests and the demo rely on a real local SMTP server that keeps what it receives."""
    with smtplib.SMTP("127.0.0.1", smtp_sink.port) as s:
        s.sendmail("a@example.no", ["b@example.no"], b"Subject: hei\r\n\r\nhallo\r\n")
    assert [m["Subject"] for m in smtp_sink.messages()] == ["hei"]
    assert len(list(smtp_sink.maildir.keys())) == 1
