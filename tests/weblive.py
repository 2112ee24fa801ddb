"""Helpers for the tests that drive the web app over real HTTP: a uvicorn server in a thread
on an ephemeral port, and the few domain steps those tests repeat (a service with a proposed
candidate, the links in the outbox, a snapshot of everything a request could change)."""

from __future__ import annotations

import re
import socket
import threading

import uvicorn
from sqlmodel import select

from appointer import appointments, services
from appointer.db import transaction
from appointer.models import Appointment, AuditEvent, OutboxMessage, Service, Token
from appointer.seats import seat_of


class _Server(uvicorn.Server):
    def __init__(self, config, ready: threading.Event):
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)
        self.ready.set()


class LiveServer:
    """`with LiveServer() as srv: srv.serve(app)`; `srv.url` is known before the app is built
    (so the app's base_url can point at it). `serve` again swaps the app on the running server
    (one server can outlive many tests, each with its own database and app). Signals are left
    alone (not the main thread)."""

    def __init__(self, access_log: bool = False):
        self.access_log = access_log
        # proto=IPPROTO_TCP, or asyncio leaves Nagle on (40 ms per response with delayed ACKs)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server: _Server | None = None
        self.thread: threading.Thread | None = None
        self.app = None

    async def _dispatch(self, scope, receive, send):
        await self.app(scope, receive, send)

    def serve(self, app) -> LiveServer:
        self.app = app
        if self.server is not None:
            return self
        ready = threading.Event()
        # proxy_headers off, as `appointer serve` runs it: forwarded headers are the app's
        config = uvicorn.Config(self._dispatch, interface="asgi3", lifespan="off",
                                log_config=None, access_log=self.access_log,
                                proxy_headers=False)
        self.server = _Server(config, ready)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        if not ready.wait(15):
            raise RuntimeError("uvicorn did not start within 15 s")
        return self

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(15)
        self.sock.close()


SERVICE = dict(name="Nasjonal behandlingstjeneste for epilepsikirurgi",
               name_en="National Service for Epilepsy Surgery", kind="national",
               hosts=["Oslo universitetssykehus HF"], leader_name="Ingrid Hauge",
               leader_email="ingrid.hauge@ous.example")

CANDIDATES = {
    "region:vest": dict(name="Frida Solheim", email="frida.solheim@helse-bergen.example",
                        institution="Helse Bergen HF", leader_name="Knut Aas",
                        leader_email="knut.aas@helse-bergen.example", share="5 %"),
    "region:nord": dict(name="Hanne Eide", email="hanne.eide@unn.example",
                        institution="Universitetssykehuset Nord-Norge HF", leader_name="Mats Holm",
                        leader_email="mats.holm@unn.example", share="5 %"),
    "user:1": dict(name="Jon Bakke", email="jon.bakke@epilepsiforbundet.example",
                   institution=None, leader_name=None, leader_email=None, share="2 %"),
}


def propose(settings, clock, seats=("region:vest",), service=None) -> dict[str, int]:
    """A service (once) and a proposed candidate for each seat; returns seat -> case id."""
    ids = {}
    with transaction(settings, clock) as tx:
        svc = services.add_service(tx, **(service or SERVICE))
        service_id = svc.id
    for seat in seats:
        with transaction(settings, clock) as tx:  # by the region that appoints the seat
            region = seat_of(tx.session, tx.session.get(Service, service_id), seat)
            actor = appointments.resolve_actor(tx.session,
                                               f"coord@{region.appointing_region}.example")
            fired, _ = appointments.propose_member(tx, service_id, seat, represents=None,
                                                   actor=actor, **CANDIDATES[seat])
            ids[seat] = fired.case.id
    return ids


LINK = re.compile(r"/t/([A-Za-z0-9_-]+)")


def links_to(settings, email: str) -> list[str]:
    """The raw tokens in the messages queued for `email`, oldest first."""
    with transaction(settings) as tx:
        rows = tx.session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [m for r in rows if email in r.to_addrs for m in LINK.findall(r.body_text)]


def snapshot(settings) -> dict:
    """Everything a request to the link pages could change."""
    with transaction(settings) as tx:
        s = tx.session
        return {
            "cases": [(c.id, c.state, c.version_id) for c in s.exec(select(Appointment))],
            "audit": [(a.id, a.trigger) for a in s.exec(select(AuditEvent))],
            "outbox": [o.id for o in s.exec(select(OutboxMessage))],
            "tokens": [(t.id, t.used_at, t.revoked_at) for t in s.exec(select(Token))],
        }


def case_state(settings, case_id: int) -> str:
    with transaction(settings) as tx:
        return tx.session.get(Appointment, case_id).state
