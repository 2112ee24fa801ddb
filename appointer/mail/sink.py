"""A real local SMTP server (aiosmtpd) for the demo and the tests: it accepts every message
and keeps it in memory and, given a folder, as a Maildir a person can open
(`<dir>/new/*.eml`-like files; any mail client reads Maildir)."""

from __future__ import annotations

import email
import email.policy
import mailbox
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    mail_options: list[str] = field(default_factory=list)  # e.g. SMTPUTF8

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


class _Handler:
    def __init__(self, sink: Sink):
        self.sink = sink

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.sink.refuse_mail:
            return self.sink.refuse_mail
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.sink.refuse.get(address.lower())
        if code:
            return code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.sink.fail_data:
            return self.sink.fail_data
        if self.sink.delay:
            import asyncio

            await asyncio.sleep(self.sink.delay)
        item = Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content),
                        list(envelope.mail_options))
        with self.sink.lock:
            self.sink.received.append(item)
            if self.sink.maildir is not None:
                self.sink.maildir.add(item.data)
        return "250 Message accepted for delivery"


class _EphemeralController(Controller):
    """aiosmtpd's Controller checks readiness by connecting to the configured port; with
    port 0 (let the OS choose) it must learn the bound port first."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Sink:
    host: str = "127.0.0.1"
    port: int = 0
    directory: str | None = None
    delay: float = 0.0  # seconds before answering each message (a slow relay)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply, e.g. 550
    fail_data: str | None = None  # reply to DATA instead of accepting (e.g. "451 try later")
    refuse_mail: str | None = None  # reply to MAIL FROM (e.g. "432 4.3.2 too many connections")
    smtputf8: bool = True  # offer SMTPUTF8 (RFC 6531), as current servers do
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    maildir: mailbox.Maildir | None = None
    _controller: Controller | None = None

    def start(self) -> Sink:
        if self.directory:
            Path(self.directory).parent.mkdir(parents=True, exist_ok=True)
            self.maildir = mailbox.Maildir(self.directory, create=True)
        self._controller = _EphemeralController(_Handler(self), hostname=self.host,
                                                port=self.port, enable_SMTPUTF8=self.smtputf8)
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received]

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
