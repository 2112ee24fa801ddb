"""The reminder run (`appointer remind`, from cron): tell the right person once.

How the work is shared:
- **People outside the RHFs** — a candidate, a candidate's leader, the service, the group
  leader — get a reminder of their own when a step comes due: one email per case (with a fresh
  answer link), or one per service listing its group problems and lifecycle deadlines.
- **The RHFs** — coordinators and the region's contact address — get no single reminders:
  one **weekly digest** each (on `digest_weekday`, or the first run after it that week if the
  machine was off) lists everything due or late in the region, grouped by service, and marks
  what is new to them. Escalations and cases ready to be appointed reach them there. A week
  with nothing to say sends nothing, and records that (a log row without a message), so
  nothing arrives later that week either.

A quiet start (backlog.py): a lifecycle deadline that had passed before Appointer knew of its
service is never reminded; it is listed once, in a "backlog" section of the host region's next
digest (a `backlog:<item>` log row per person keeps it from coming back), and then only by
`appointer agenda --backlog`. The database's first run leaves a `first_run` log row: the day
Appointer started reminding.

Idempotent: every reminder is a `ReminderLog` row keyed (rule, subject, due day, recipient),
written in the same transaction as its outbox row; a due step already logged is never sent
again, and a run after a long gap sends only the latest due step of each rule. Two overlapping
runs never both send: on SQLite a run holds the write lock from its start, so the second waits
and then finds everything sent; on other databases the unique keys make the second one's
commit fail, and it starts over.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from markupsafe import Markup
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from appointer import agenda as agenda_mod
from appointer import bulk, undelivered
from appointer.agenda_text import item_view
from appointer.backlog import FIRST_RUN
from appointer.db import Tx, transaction
from appointer.engine import SYSTEM, CaseContext, Recipient
from appointer.errors import Conflict, DatabaseProblem
from appointer.gcpause import cyclic_gc_paused
from appointer.mail.render import TemplateMissing, macros, template_path
from appointer.models import Coordinator, ReminderLog
from appointer.recipients import dedupe, service_leader
from appointer.seats import REGION_ORDER

RHF_ROLES = ("coordinator", "contact")
Key = tuple[str, str, int, dt.date]  # rule, subject type, subject id, due day
_NONE: frozenset = frozenset()  # nobody got it


@dataclass
class Message:
    """One email the run queues, and the reminders it carries."""

    template: str
    recipient: Recipient
    context: dict
    keys: list[Key] = field(default_factory=list)
    case_type: str | None = None
    case_id: int | None = None
    reply_to: str | None = None
    dedupe: str = ""
    token: tuple | None = None  # (case_type, case_id, triggers, state) for a fresh answer link
    case_state: str | None = None  # a case reminder: the state reminded about (cancelled on leaving)


def digest_day(today: dt.date, weekday: int) -> dt.date | None:
    """This week's digest day, if it has come (a run later in the week catches up)."""
    day = today - dt.timedelta(days=today.isoweekday() - weekday)
    return day if day <= today else None


def run(tx: Tx, dry_run: bool = False) -> dict:
    """Queue every reminder that is due and not yet sent. Returns what was (or, with dry_run,
    would be) queued; the caller rolls back a dry run."""
    today = tx.clock.today()
    agenda = agenda_mod.build(tx.session, tx.settings, today)
    # each item's due steps, by id(item) (items are not hashable; the agenda keeps them alive)
    steps = {id(item): item.due_steps(today) for item in agenda.items}
    due = [(item, step) for item in agenda.items for step in steps[id(item)]]
    day = digest_day(today, tx.settings.digest_weekday)
    backlog = {i.due_on for i in agenda.items if i.backlog} if day else set()
    logs = _logs(tx.session, {s.on for _, s in due} | ({day} if day else set()) | backlog)
    plan = _Planner(tx, agenda, logs, steps)
    if tx.session.exec(select(ReminderLog.id).limit(1)).first() is None:
        plan.quiet.append(((*FIRST_RUN, today), ""))  # the database's first run: its day
    personal, already, waiting = plan.personal(due)
    digests = plan.digests(day) if day else []
    queued = _queue_all(tx, personal + digests, plan.quiet)
    return {
        "id": today.isoformat(), "state": "dry-run" if dry_run else "done",
        "today": today, "items": len(agenda.items), "due_steps": len(due),
        "reminders": len(personal), "digests": len(digests),
        "already_sent": already, "for_digest": waiting,
        "digest_day": day, "messages": queued,
    }


def _logs(session, days: set[dt.date]) -> dict[Key, set[str]]:
    """Who got which reminder, for the due days at hand (chunked IN lists: set-based)."""
    out: dict[Key, set[str]] = {}
    ordered = sorted(days)
    for i in range(0, len(ordered), 500):
        q = select(ReminderLog.rule, ReminderLog.subject_type, ReminderLog.subject_id,
                   ReminderLog.due_on, ReminderLog.recipient).where(
            ReminderLog.due_on.in_(ordered[i:i + 500]))
        for rule, stype, sid, on, rcpt in session.exec(q):
            out.setdefault((rule, stype, sid, on), set()).add(rcpt)
    return out


class _Planner:
    def __init__(self, tx: Tx, agenda: agenda_mod.Agenda, logs: dict[Key, set[str]],
                 steps: dict[int, list[agenda_mod.Step]]):
        self.tx = tx
        self.agenda = agenda
        self.logs = logs
        self.steps = steps  # id(item) -> item.due_steps(today)
        self.rhf_only: set[tuple[str, str]] = set()  # (workflow, group) that only reach RHFs
        self.templates: dict[tuple[str, str], str] = {}
        self.quiet: list[tuple[Key, str]] = []  # digests due with nothing in them
        self.macros: dict[str, tuple] = {}
        self.views: dict[tuple, dict] = {}

    # -- single reminders -----------------------------------------------------------------------
    def personal(self, due) -> tuple[list[Message], int, int]:
        messages: dict[tuple, Message] = {}
        already = waiting = 0
        for item, step in due:
            key: Key = (step.rule, item.subject_type, item.subject_id, step.on)
            if key in self.logs:
                already += 1
                continue
            recipients = self._recipients(item, step)
            if not recipients:
                waiting += 1  # only the RHFs: their digest carries it
            for r in recipients:
                if item.case is not None:
                    mkey = (r.email, item.subject_type, item.subject_id)
                    msg = messages.get(mkey) or self._case_message(item, step, r)
                else:
                    mkey = (r.email, "service", item.service_id)
                    msg = messages.get(mkey) or self._service_message(item, r)
                    msg.context["items"].append({**self._view(item, step, r.lang), "new": True})
                messages[mkey] = msg
                msg.keys.append(key)
        return list(messages.values()), already, waiting

    def _recipients(self, item, step) -> list[Recipient]:
        out: list[Recipient] = []
        for group in step.to:
            if item.case is not None:
                memo = (item.workflow.name, group)
                if memo in self.rhf_only:
                    continue
                ctx = CaseContext(item.case, self.tx, item.workflow, SYSTEM, {})
                found = item.workflow.hooks.recipients[group](ctx)
                if found and all(r.role in RHF_ROLES for r in found):
                    self.rhf_only.add(memo)
                out += [r for r in found if r.role not in RHF_ROLES]
            else:
                out += self._service_recipients(item, group)
        return dedupe(out)

    def _service_recipients(self, item, group: str) -> list[Recipient]:
        service = self.agenda.services[item.service_id]
        if group == "service":
            return service_leader(service)
        if group == "group_leader":
            facts = self.agenda.register.facts.get(item.service_id)
            lc = facts.leader_case() if facts else None
            if lc is not None and lc.candidate_email:
                return [Recipient(lc.candidate_email, lc.candidate_name, "group_leader",
                                  lc.lang or service.lang)]
        return []  # region groups: the digest

    def _template(self, role: str, lang: str) -> str:
        if (role, lang) not in self.templates:
            name = f"reminder.case.{role}"
            try:
                template_path(self.tx.settings.templates_dir, name, lang)
            except TemplateMissing:
                name = "reminder.case"
            self.templates[(role, lang)] = name
        return self.templates[(role, lang)]

    def _case_message(self, item, step, r: Recipient) -> Message:
        flow, case = item.workflow, item.case
        ctx = CaseContext(case, self.tx, flow, SYSTEM, {})
        context = flow.hooks.context(ctx) if flow.hooks.context else {"case": case}
        state = flow.states[case.state]
        nxt = item.next_step(self.agenda.today)
        context.update(
            recipient=r, step=step, since=item.since, state=state,
            days_waiting=(self.agenda.today - item.since).days if item.since else None,
            next_on=nxt.on if nxt else None)
        links = _links(flow, case.state, step.to)
        page = None if links else item.detail.get("page") or _page(flow, case.state)
        if page:  # the recipient's own page (annual reports), not a one-use answer
            context["link"] = flow.hooks.pages[page](ctx, r)
        region = self.agenda.register.regions.get(item.detail.get("region") or "")
        return Message(
            self._template(r.role, r.lang), r, context, case_type=flow.case_type,
            case_id=case.id, reply_to=region.contact_email if region else None,
            token=(flow.case_type, case.id, links, case.state) if links else None,
            case_state=case.state)

    def _service_message(self, item, r: Recipient) -> Message:
        service = self.agenda.services[item.service_id]
        region = self.agenda.register.regions.get(
            (self.agenda.register.host_regions(service.id) or [""])[0])
        return Message("reminder.service", r, {"recipient": r, "service": service, "items": []},
                       case_type="service", case_id=service.id,
                       reply_to=region.contact_email if region else None)

    def _view(self, item, step, lang: str) -> dict:
        """An item as the reminder templates see it, with `text` and `html`: the item as one
        line, formatted by the macros of `macros/reminder` in the recipient's language.

        Made once per run for each item, reminder step and language, and shared by every
        message that lists it: the item's service reminder and the digests of its regions'
        people. So the line cannot depend on who reads it, and the macros see `new` false;
        a service reminder lists a copy with `new` true. The service reminders used to call
        the macros from their template for every message: Jinja2's per-call overhead and
        the `{% import %}` in each block cost about as much as the formatting."""
        n, escalated = (step.n, bool(step.escalation)) if step else (0, False)
        key = (item.kind, item.key, item.subject_type, item.subject_id, n, escalated, lang)
        view = self.views.get(key)
        if view is None:
            view = item_view(item, self.agenda.today, n, escalated)
            if lang not in self.macros:
                self.macros[lang] = macros(self.tx.settings.templates_dir, "macros/reminder", lang)
            text, html = self.macros[lang]
            line = (str(text.describe(view)) + str(text.when(view)),
                    Markup(html.describe(view)) + Markup(html.when(view)))
            view["text"], view["html"] = line
            self.views[key] = view
        return view

    # -- the weekly digest --------------------------------------------------------------------
    def digests(self, day: dt.date) -> list[Message]:
        session, today = self.tx.session, self.agenda.today
        coordinators: dict[str, list[Coordinator]] = {}
        for c in session.exec(select(Coordinator).where(Coordinator.active == True)  # noqa: E712
                              .order_by(Coordinator.id)):
            coordinators.setdefault(c.region_code, []).append(c)
        active = [i for i in self.agenda.items if i.active(today)]
        backlog = [i for i in self.agenda.items if i.backlog]
        failed = undelivered.unreported(session, self.agenda.register.host_regions)
        out = []
        for index, code in enumerate(REGION_ORDER, start=1):
            items = [i for i in active if code in i.regions]
            behind = sorted((i for i in backlog if code in i.regions),
                            key=lambda i: (i.service_name, i.due_on, i.kind))
            region = self.agenda.register.regions.get(code)
            if region is None:
                continue
            people = [Recipient(c.email, c.name, "coordinator", self.tx.settings.lang)
                      for c in coordinators.get(code, [])]
            if region.contact_email and region.contact_email not in {p.email for p in people}:
                people.append(Recipient(region.contact_email, region.name, "contact",
                                        self.tx.settings.lang))
            dkey: Key = ("digest", "digest", index, day)
            rows = None  # the region's items in digest order, worked out once for its people
            views: dict[str, list[dict]] = {}  # and their views, once per language
            lost = failed.get(code, []) + failed.get(undelivered.ALL_REGIONS, [])
            for person in people:
                if person.email in self.logs.get(dkey, _NONE):
                    continue
                news = [i for i in behind  # backlog this person has not been shown yet
                        if person.email not in self.logs.get(_backlog_key(i), _NONE)]
                if items or news or lost:
                    if rows is None:
                        rows = self._digest_rows(items)
                    if person.lang not in views:
                        views[person.lang] = [self._view(item, last, person.lang)
                                              for item, _, last, _ in rows]
                    message = self._digest(person, region, rows, views[person.lang], dkey)
                    self._add_backlog(message, news)
                    message.context["undelivered"] = lost  # failed mail, reported once
                    message.keys += undelivered.keys(lost, day)
                    out.append(message)
                else:  # nothing this week: say so, so that no digest follows later this week
                    self.quiet.append((dkey, person.email))
        return out

    def _digest_rows(self, items) -> list[tuple]:
        """(item, its due reminders' keys, its last due step, overdue?) in digest order: the
        same for every person of a region (two to four), so worked out once for them all."""
        today = self.agenda.today
        rows = []
        for item in sorted(items, key=lambda i: (i.service_name, i.due_on, i.kind)):
            steps = self.steps[id(item)]
            keys = [(s.rule, item.subject_type, item.subject_id, s.on) for s in steps]
            rows.append((item, keys, steps[-1] if steps else None,
                         item.status(today) == "overdue"))
        return rows

    def _digest(self, person: Recipient, region, rows, views, dkey: Key) -> Message:
        by_service: dict[int, dict] = {}
        reports: dict[int, dict] = {}  # the annual reports' items: a section of their own
        keys: list[Key] = [dkey]
        late = new = 0
        email = person.email
        for (item, item_keys, _, overdue), view in zip(rows, views, strict=True):
            fresh = [k for k in item_keys if email not in self.logs.get(k, _NONE)]
            keys += fresh
            section = reports if item.kind.startswith("annual_report.") else by_service
            entry = section.get(item.service_id)
            if entry is None:
                entry = section[item.service_id] = {
                    "service": self.agenda.services[item.service_id], "entries": []}
            entry["entries"].append({"new": bool(fresh), "text": view["text"],
                                     "html": view["html"]})
            late += overdue
            new += bool(fresh)
        # dated the day it is written (a run later in the week catches up the week's digest)
        context = {"recipient": person, "region": region, "week_of": dkey[3],
                   "today": self.tx.clock.today(),
                   "services": list(by_service.values()), "reports": list(reports.values()),
                   "count": len(rows),
                   "late": late, "new": new}
        return Message("reminder.digest", person, context, keys=keys,
                       dedupe=f"digest:{region.code}:{dkey[3].isoformat()}:{person.email}")

    def _add_backlog(self, message: Message, items: list) -> None:
        """The digest's backlog section: what passed before Appointer knew of it, shown to
        each person once (logged as `backlog:<item key>`), grouped by service."""
        by_service: dict[int, dict] = {}
        for item in items:
            view = self._view(item, None, message.recipient.lang)
            entry = by_service.get(item.service_id)
            if entry is None:
                entry = by_service[item.service_id] = {
                    "service": self.agenda.services[item.service_id], "entries": []}
            entry["entries"].append({"new": True, "text": view["text"], "html": view["html"]})
            message.keys.append(_backlog_key(item))
        message.context["backlog"] = list(by_service.values())
        message.context["backlog_count"] = len(items)


def _backlog_key(item) -> Key:
    return (f"backlog:{item.key}", item.subject_type, item.subject_id, item.due_on)


def _links(flow, state: str, to: tuple[str, ...]) -> list[str]:
    """The triggers the message that put the case in this state offered its recipients."""
    out: list[str] = []
    for t in flow.transitions:
        if t.dest == state:
            for n in t.notify:
                if n.to in to:
                    out += [link for link in n.links if link not in out]
    return out


def _page(flow, state: str) -> str | None:
    """The link page the message that put the case in this state gave its recipients."""
    return next((n.page for t in flow.transitions if t.dest == state for n in t.notify
                 if n.page), None)


def _queue_all(tx: Tx, messages: list[Message], quiet: list[tuple[Key, str]]) -> list[dict]:
    """Render and store the messages, then their ReminderLog rows (and the quiet digests'),
    in the run's transaction: the messages in one executemany, the logs in another."""
    from appointer import outbox, tokens

    rows, token_rows = [], []
    for m in messages:
        if not m.dedupe:
            digest = hashlib.sha256("|".join(sorted(
                f"{r}:{t}:{i}:{d.isoformat()}" for r, t, i, d in m.keys)).encode()
            ).hexdigest()[:20]
            m.dedupe = f"reminder:{m.case_type}:{m.case_id}:{m.recipient.email}:{digest}"
        link = m.context.get("link")
        if m.token is not None:
            case_type, case_id, triggers, state = m.token
            token, link = tokens.prepare(tx, case_type, case_id, m.recipient, triggers, state)
            token_rows.append(token)
        m.context["link"] = link
        rows.append(outbox.render_row(
            tx, m.template, m.recipient, m.context, case_type=m.case_type, case_id=m.case_id,
            reply_to=m.reply_to, dedupe_key=m.dedupe, case_state=m.case_state))
    tokens.store(tx, token_rows)
    rows = outbox.insert_rows(tx, rows)
    now = tx.clock.now()
    logs = [(rule, stype, sid, on, m.recipient.email, row.id, now)
            for m, row in zip(messages, rows, strict=True) for rule, stype, sid, on in m.keys]
    logs += [(rule, stype, sid, on, email, None, now) for (rule, stype, sid, on), email in quiet]
    logs = _once_each(logs)
    if logs:
        _insert_logs(tx.connection, logs)
    return [{"outbox_id": row.id, "template": m.template, "to": m.recipient.email,
             "role": m.recipient.role, "case_type": m.case_type, "case_id": m.case_id,
             "reminders": [{"rule": r, "subject_type": t, "subject_id": i, "due_on": d}
                           for r, t, i, d in m.keys]}
            for m, row in zip(messages, rows, strict=True)]


def _once_each(logs: list[tuple]) -> list[tuple]:
    """One log row per (rule, subject, due day, address), the first message's. One address
    may hold several roles (the contact of two regions, a coordinator who is also a service's
    leader): it gets each of its messages, and each reminder is logged once, with the first
    message that carried it."""
    seen: set[tuple] = set()
    out = []
    for row in logs:
        key = row[:5]
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


_LOG_COLUMNS = ("rule", "subject_type", "subject_id", "due_on", "recipient", "outbox_id",
                "created_at")


def _insert_logs(conn, rows: list[tuple]) -> None:
    """Store ReminderLog rows (values in `_LOG_COLUMNS` order): tens of thousands on a first
    run, through `bulk`, which processes their few hundred dates and one timestamp once
    each (bench/remind_bench.py)."""
    table = ReminderLog.__table__
    if bulk.is_sqlite(conn):
        bulk.insert_many(conn, table, _LOG_COLUMNS, rows, repeated=("due_on", "created_at"))
    else:
        conn.execute(insert(table), [dict(zip(_LOG_COLUMNS, row, strict=True)) for row in rows])


def run_once(settings, clock, dry_run: bool = False, attempts: int = 3) -> dict:
    """One reminder run in one transaction. On SQLite it holds the write lock from the start,
    so an overlapping run waits and then finds everything sent; elsewhere (or if a writer
    still got in between) a conflict or a duplicate reminder key starts the run over. A
    duplicate key while holding the lock is no race but a bug: it is reported as what it is
    (`DatabaseProblem`, the constraint named, no addresses), never retried."""
    sqlite = settings.db_url.startswith("sqlite")
    with cyclic_gc_paused():
        for attempt in range(1, attempts + 1):
            try:
                with transaction(settings, clock, exclusive=True) as tx:
                    result = run(tx, dry_run=dry_run)
                    if dry_run:
                        tx.session.rollback()
                result["attempts"] = attempt
                return result
            except DatabaseProblem as exc:
                if sqlite or attempt == attempts or not isinstance(exc.__cause__,
                                                                   IntegrityError):
                    raise
            except Conflict:
                if attempt == attempts:
                    raise Conflict(f"the database kept changing during the reminder run "
                                   f"({attempts} attempts); nothing was queued — run it again"
                                   ) from None
    raise AssertionError("unreachable")
