"""The demo: one realistic reference group, built end to end through the same service layer
the CLI uses. Names and addresses are invented; institutions are the real ones."""

from __future__ import annotations

from appointer import appointments, reference, services
from appointer.db import transaction

COORDINATORS = [
    ("anne.sorli@helse-sorost.example", "Anne Sørli", "sor-ost"),
    ("bjorn.vik@helse-vest.example", "Bjørn Vik", "vest"),
    ("cecilie.moe@helse-midt.example", "Cecilie Moe", "midt"),
    ("dag.nilsen@helse-nord.example", "Dag Nilsen", "nord"),
]
CONTACTS = {code: f"servicemiljo@{domain}" for code, domain in [
    ("sor-ost", "helse-sorost.example"), ("vest", "helse-vest.example"),
    ("midt", "helse-midt.example"), ("nord", "helse-nord.example")]}

SERVICE = dict(
    name="Nasjonal behandlingstjeneste for epilepsikirurgi",
    name_en="National Service for Epilepsy Surgery",
    kind="national", hosts=["Oslo universitetssykehus HF"],
    leader_name="Ingrid Hauge", leader_email="ingrid.hauge@ous.example",
)

# seat, candidate, email, institution, leader, leader email, share, actor region, the answer
MEMBERS = [
    ("region:sor-ost", "Erik Lund", "erik.lund@ahus.example", "Akershus universitetssykehus HF",
     "Hilde Berg", "hilde.berg@ahus.example", "5 %"),
    ("region:vest", "Frida Solheim", "frida.solheim@helse-bergen.example", "Helse Bergen HF",
     "Knut Aas", "knut.aas@helse-bergen.example", "5 %"),
    ("region:midt", "Geir Ness", "geir.ness@stolav.example", "St. Olavs hospital HF",
     "Liv Dahl", "liv.dahl@stolav.example", "5 %"),
    ("region:nord", "Hanne Eide", "hanne.eide@unn.example", "Universitetssykehuset Nord-Norge HF",
     "Mats Holm", "mats.holm@unn.example", "5 %"),
    ("service", "Ingrid Hauge", "ingrid.hauge@ous.example", "Oslo universitetssykehus HF",
     "Nils Foss", "nils.foss@ous.example", "10 %"),
    ("user:1", "Jon Bakke", "jon.bakke@epilepsiforbundet.example", None, None, None, "2 %"),
]


def run(settings, clock, log=print, after_step=lambda: None) -> dict:
    """Build the group; return its status. `log` receives one line per step; `after_step`
    is called after each coordinator's step (the demo delivers the mail it caused then, as
    cron would between real steps, so that no invitation is still unsent when its case
    moves on and is cancelled)."""
    from appointer import db, groups

    db.migrate(settings)
    with transaction(settings, clock) as tx:
        reference.seed(tx)
        first, *others = COORDINATORS  # the first is also the admin (`init --admin`)
        reference.make_first_admin(tx, *first)
        admin = appointments.resolve_actor(tx.session, first[0])
        for email, name, region in others:
            reference.add_coordinator(tx, email, name, region, actor=admin)
        for code, email in CONTACTS.items():
            reference.set_region_contact(tx, code, email, actor=admin)
        svc = services.add_service(tx, **SERVICE)
        service_id = svc.id
    log(f"service {service_id}: {SERVICE['name']} at {SERVICE['hosts'][0]}")
    by_region = {region: email for email, _, region in COORDINATORS}

    def act(region, fn):
        with transaction(settings, clock) as tx:
            done = fn(tx, appointments.resolve_actor(tx.session, by_region[region]))
        after_step()
        return done

    case_ids = {}
    for seat, name, email, inst, lname, lemail, share in MEMBERS:
        def propose(tx, actor, seat=seat, name=name, email=email, inst=inst, lname=lname,
                    lemail=lemail, share=share):
            fired, _ = appointments.propose_member(
                tx, service_id, seat, name=name, email=email, institution=inst,
                leader_name=lname, leader_email=lemail, share=share, represents=None, actor=actor)
            return fired.case.id
        # by the region that appoints the seat (the service's own seats: the host's, sor-ost)
        region = seat.partition(":")[2] if seat.startswith("region:") else "sor-ost"
        case_ids[seat] = act(region, propose)
        log(f"  case {case_ids[seat]}: {seat} proposed ({name})")
    for seat, *_rest in MEMBERS:
        cid = case_ids[seat]
        steps = ["accept"] + ([] if seat.startswith("user") else ["consent"]) + ["appoint"]
        for trigger in steps:
            with transaction(settings, clock) as tx:
                case = appointments.get_case(tx.session, cid)
                region = case.appointing_region
            evidence = "by phone (demo)" if trigger in appointments.ON_BEHALF else None
            act(region, lambda tx, actor, t=trigger, c=cid, e=evidence: appointments.advance(
                tx, c, t, actor, evidence=e))
        log(f"  case {cid}: {seat} " + " → ".join(steps)
            + " (the answers recorded by the region's coordinator, with evidence)")
    act("sor-ost", lambda tx, actor: appointments.designate_leader(
        tx, service_id, case_ids["region:nord"], actor))
    log(f"  group leader: case {case_ids['region:nord']} (Helse Nord, not the host region)")
    lifecycle_demo(settings, clock, log)
    with transaction(settings, clock) as tx:
        status = groups.group_status(tx.session, tx.session.get(services.Service, service_id),
                                     appointments.load_workflow(tx).seat_states())
    return status


APPLICATION = dict(
    name="Nasjonal behandlingstjeneste for avansert bekkenbunnskirurgi (demo)", kind="national",
    hosts=["Universitetssykehuset Nord-Norge HF"], requested_by="Norsk pasientforening (demo)",
)


def lifecycle_demo(settings, clock, log=print) -> None:
    """The register of existing services (appointer/data/national_services.csv), and one new
    application started and submitted by Helse Nord."""
    from importlib import resources

    from appointer import deadlines, lifecycle
    from appointer.service_import import import_services

    text = resources.files("appointer.data").joinpath("national_services.csv").read_text("utf-8")
    with transaction(settings, clock) as tx:
        report = import_services(tx, text, source="national_services.csv")
        if report.rejected:
            log(f"register: not imported ({report.rejected[0]['reason']})")
        else:
            late = [s for s in services.list_services(tx.session)
                    if any(d.overdue(tx.clock.today())
                           for d in deadlines.service_deadlines(s, settings, tx.clock.today()))]
            log(f"register: {len(report.added)} existing national services imported; "
                f"{len(late)} have a deadline overdue (`appointer service list --overdue`)")
    by_region = {region: email for email, _, region in COORDINATORS}
    members_demo(settings, clock, COORDINATORS[0][0], log)  # the admin: all regions' members
    with transaction(settings, clock) as tx:
        actor = appointments.resolve_actor(tx.session, by_region["nord"])
        fired = lifecycle.apply(tx, actor=actor, **APPLICATION)
        service_id = fired.case.id
    with transaction(settings, clock) as tx:
        actor = appointments.resolve_actor(tx.session, by_region["nord"])
        fired, _ = lifecycle.advance(tx, service_id, "submit", actor)
        rnd = deadlines.application_round(fired.case, settings, tx.clock.today())
    log(f"service {service_id}: applied for and submitted by Helse Nord; round {rnd.year}, "
        f"joint application due {rnd.send_by} (`appointer service show {service_id}`)")


def members_demo(settings, clock, coordinator: str, log=print) -> None:
    """The members three of those groups already have (appointer/data/members_sample.csv):
    imported as appointed, audited, and not emailed."""
    from importlib import resources

    from appointer.member_import import import_members

    text = resources.files("appointer.data").joinpath("members_sample.csv").read_text("utf-8")
    with transaction(settings, clock) as tx:
        actor = appointments.resolve_actor(tx.session, coordinator)
        report = import_members(tx, text, source="members_sample.csv", actor=actor)
    if report.errors:
        first = report.errors[0]
        log(f"members: not imported (line {first['line']}, {first['column']}: {first['reason']})")
    else:
        groups = sorted({a["service_id"] for a in report.added})
        log(f"members: {len(report.added)} existing members of {len(groups)} reference groups "
            f"imported, no email sent (`appointer group show {groups[0]}`)")


class MailToSink:
    """A local SMTP server writing a Maildir to `directory`, for the length of a `with`;
    `deliver()` drains the outbox to it with the real sender (never to the configured
    server), and `summary()` says who got what, read off what the server received."""

    def __init__(self, settings, clock, directory):
        self.settings, self.clock, self.directory = settings, clock, directory
        self.sent = self.failed = 0

    def __enter__(self):
        import shutil

        from appointer.mail.sink import Sink
        from appointer.settings import replace

        shutil.rmtree(self.directory, ignore_errors=True)
        self.sink = Sink(directory=str(self.directory)).start()
        self.local = replace(self.settings, smtp_host="127.0.0.1", smtp_port=self.sink.port,
                             smtp_tls="none", smtp_user="", smtp_password="")
        return self

    def __exit__(self, *exc):
        self.sink.stop()

    def deliver(self) -> None:
        from appointer.mail.sender import send_outbox

        report = send_outbox(self.local, self.clock)
        self.sent += report.sent
        self.failed += report.failed

    def summary(self) -> dict:
        from collections import Counter
        from pathlib import Path

        from appointer.mail.sender import send_outbox

        left = send_outbox(self.local, self.clock)  # whatever waits to be retried
        received = self.sink.messages()
        by_recipient: dict[str, Counter] = {}
        for msg in received:
            what = (msg["X-Appointer-Template"] or "?").removeprefix("appointment.")
            for rcpt in msg.get_all("To", []):
                by_recipient.setdefault(str(rcpt), Counter())[what] += 1
        return {
            "sent": self.sent + left.sent,
            "failed": self.failed + left.failed + left.retry,
            "received": len(received),
            "maildir": str(Path(self.directory)),
            "by_recipient": {to: dict(c) for to, c in sorted(by_recipient.items())},
        }


def render_mail_summary(summary: dict) -> str:
    lines = [f"Emails: {summary['received']} delivered over SMTP to a local server, kept as a "
             f"Maildir in {summary['maildir']}",
             f"  (open it with `mutt -f {summary['maildir']}`, or read "
             f"{summary['maildir']}/new/*: one plain email per file)"]
    width = max((len(to) for to in summary["by_recipient"]), default=0)
    for to, what in summary["by_recipient"].items():
        parts = [name if n == 1 else f"{name} ×{n}" for name, n in what.items()]
        lines.append(f"  {to.ljust(width)}  {sum(what.values()):>2}  {', '.join(parts)}")
    if summary["failed"]:
        lines.append(f"  ({summary['failed']} not delivered: see `appointer mail list`)")
    return "\n".join(lines)
