"""Workflows as data: load a `workflows/*.toml` file into a `transitions` machine.

One machine per workflow file, built once (`model=None, auto_transitions=False`) and fired
with `machine.events[trigger].trigger(model)` on a light adapter over the database row:
transitions cannot attach to SQLModel rows, and a machine per row costs memory for every
case (shared/LIBRARY-NOTES.md). Guards, effects, roles and recipient groups are named in the file
and looked up in the `Hooks` registry of the Python module the file names under `hooks`.
"""

from __future__ import annotations

import functools
import importlib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transitions import Machine

from appointer.errors import WorkflowError


@dataclass
class Hooks:
    """The named Python pieces a workflow file may refer to."""

    guards: dict[str, Callable[[Any], bool]] = field(default_factory=dict)
    effects: dict[str, Callable[[Any], None]] = field(default_factory=dict)
    # role name -> (check(ctx) -> bool, describe(ctx) -> str)
    roles: dict[str, tuple[Callable[[Any], bool], Callable[[Any], str]]] = field(default_factory=dict)
    recipients: dict[str, Callable[[Any], list]] = field(default_factory=dict)
    context: Callable[[Any], dict] | None = None
    inputs: dict[str, Callable[[Any], str | None]] = field(default_factory=dict)
    # page name -> make(ctx, recipient) -> the URL of a link page of that recipient's own
    # (a notify entry's `page`: links that are not one-use answers to a trigger)
    pages: dict[str, Callable[[Any, Any], str | None]] = field(default_factory=dict)

    def guard(self, fn):
        self.guards[fn.__name__] = fn
        return fn

    def effect(self, fn):
        self.effects[fn.__name__] = fn
        return fn

    def role(self, describe: Callable[[Any], str]):
        def deco(fn):
            self.roles[fn.__name__] = (fn, describe)
            return fn

        return deco

    def recipient_group(self, fn):
        self.recipients[fn.__name__] = fn
        return fn

    def requirement(self, fn):
        """A named input check: returns an error message, or None when the input is there."""
        self.inputs[fn.__name__] = fn
        return fn

    def page(self, fn):
        self.pages[fn.__name__] = fn
        return fn

    def case_context(self, fn):
        self.context = fn
        return fn


@dataclass(frozen=True)
class Notify:
    template: str
    to: str
    links: tuple[str, ...] = ()
    page: str | None = None


@dataclass(frozen=True)
class StateSpec:
    name: str
    description: str = ""
    final: bool = False
    holds_seat: bool = False
    waiting_for: str | None = None
    remind_after_days: tuple[int, ...] = ()
    escalate_after_days: int | None = None
    escalate_to: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class TransitionSpec:
    index: int
    trigger: str
    source: tuple[str, ...]
    dest: str
    who: tuple[str, ...]
    conditions: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    notify: tuple[Notify, ...] = ()
    description: str = ""


_STATE_KEYS = {"description", "final", "holds_seat", "waiting_for", "remind_after_days",
               "escalate_after_days", "escalate_to"}
_TRANSITION_KEYS = {"trigger", "source", "dest", "who", "conditions", "unless", "effects",
                    "requires", "notify", "description"}


class Workflow:
    def __init__(self, path: Path):
        self.path = path
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise WorkflowError(f"{path}: {exc}") from exc
        self.raw = raw
        self.name: str = raw.get("name") or path.stem
        self.title: str = raw.get("title", self.name)
        self.case_type: str = raw.get("case_type", self.name)
        self.initial: str = raw["initial"]
        self.settings: dict = raw.get("settings", {})
        # Unsent mail written for a state is cancelled when the case leaves it (an invitation
        # to a withdrawn case must never go out). A workflow whose messages announce what
        # happened, and stay true after the case moves on, sets this false.
        self.cancel_unsent_on_leave: bool = raw.get("cancel_unsent_on_leave", True)
        self.hooks: Hooks = _load_hooks(raw.get("hooks"), path)
        self.states: dict[str, StateSpec] = {}
        for name, spec in raw.get("states", {}).items():
            known = {k: v for k, v in spec.items() if k in _STATE_KEYS}
            extra = {k: v for k, v in spec.items() if k not in _STATE_KEYS}
            if "remind_after_days" in known:
                known["remind_after_days"] = tuple(known["remind_after_days"])
            self.states[name] = StateSpec(name=name, extra=extra, **known)
        self.transitions: list[TransitionSpec] = []
        for i, t in enumerate(raw.get("transitions", [])):
            unknown = set(t) - _TRANSITION_KEYS
            if unknown:
                raise WorkflowError(f"{path}: transition {i + 1} has unknown key(s) {sorted(unknown)}")
            self.transitions.append(
                TransitionSpec(
                    index=i,
                    trigger=t["trigger"],
                    source=_tuple(t["source"]),
                    dest=t["dest"],
                    who=_tuple(t.get("who", [])),
                    conditions=_tuple(t.get("conditions", [])),
                    unless=_tuple(t.get("unless", [])),
                    effects=_tuple(t.get("effects", [])),
                    requires=_tuple(t.get("requires", [])),
                    notify=tuple(
                        Notify(n["template"], n["to"], _tuple(n.get("links", [])), n.get("page"))
                        for n in t.get("notify", [])
                    ),
                    description=t.get("description", ""),
                )
            )
        self._validate()
        self.machine = self._build_machine()

    # -- structure -------------------------------------------------------------------------
    def _validate(self) -> None:
        problems = []
        if self.initial not in self.states:
            problems.append(f"initial state {self.initial!r} is not declared")
        for t in self.transitions:
            where = f"transition {t.index + 1} ({t.trigger})"
            for s in (*t.source, t.dest):
                if s not in self.states:
                    problems.append(f"{where}: unknown state {s!r}")
            for s in t.source:
                if s in self.states and self.states[s].final:
                    problems.append(f"{where}: leaves final state {s!r}")
            if not t.who:
                problems.append(f"{where}: says nobody may fire it (who = [])")
            for g in (*t.conditions, *t.unless):
                if g not in self.hooks.guards:
                    problems.append(f"{where}: unknown guard {g!r}")
            for e in t.effects:
                if e not in self.hooks.effects:
                    problems.append(f"{where}: unknown effect {e!r}")
            for r in t.who:
                if r not in self.hooks.roles:
                    problems.append(f"{where}: unknown role {r!r}")
            for r in t.requires:
                if r not in self.hooks.inputs:
                    problems.append(f"{where}: unknown requirement {r!r}")
            for n in t.notify:
                if n.to not in self.hooks.recipients:
                    problems.append(f"{where}: unknown recipient group {n.to!r}")
                for link in n.links:
                    if link not in self.triggers:
                        problems.append(f"{where}: link to unknown trigger {link!r}")
                if n.page and n.page not in self.hooks.pages:
                    problems.append(f"{where}: unknown link page {n.page!r}")
            if t.trigger == "state":
                problems.append(f"{where}: a trigger may not be called 'state'")
        for s in self.states.values():
            for who in (s.waiting_for, s.escalate_to):
                if who and who not in self.hooks.recipients:
                    problems.append(f"state {s.name}: unknown recipient group {who!r}")
        if problems:
            raise WorkflowError(f"{self.path}:\n  " + "\n  ".join(problems))

    @functools.cached_property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger, in file order (a workflow never changes once loaded)."""
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    def _build_machine(self) -> Machine:
        def wrap(name: str):
            fn = self.hooks.guards[name]
            return lambda event: fn(event.model)

        def taken(index: int):
            def record(event):
                event.model.taken = index

            return record

        return Machine(
            model=None,
            states=list(self.states),
            initial=self.initial,
            auto_transitions=False,
            send_event=True,
            transitions=[
                {
                    "trigger": t.trigger,
                    "source": list(t.source),
                    "dest": t.dest,
                    "conditions": [wrap(g) for g in t.conditions],
                    "unless": [wrap(g) for g in t.unless],
                    "after": [taken(t.index)],
                }
                for t in self.transitions
            ],
        )

    # -- queries ---------------------------------------------------------------------------
    def candidates(self, trigger: str, state: str) -> tuple[TransitionSpec, ...]:
        """The transitions `trigger` may take from `state`, in file order (guards not yet
        asked)."""
        return self._by_trigger_and_source.get((trigger, state), ())

    @functools.cached_property
    def _by_trigger_and_source(self) -> dict[tuple[str, str], tuple[TransitionSpec, ...]]:
        found: dict[tuple[str, str], tuple[TransitionSpec, ...]] = {}
        for t in self.transitions:
            for state in t.source:
                found[(t.trigger, state)] = (*found.get((t.trigger, state), ()), t)
        return found

    def passes(self, spec: TransitionSpec, ctx) -> bool:
        return all(self.hooks.guards[g](ctx) for g in spec.conditions) and not any(
            self.hooks.guards[g](ctx) for g in spec.unless
        )

    @functools.cached_property
    def link_states(self) -> frozenset[str]:
        """States entered by a transition that sends links: leaving one revokes them."""
        return frozenset(t.dest for t in self.transitions if any(n.links for n in t.notify))

    @functools.cached_property
    def mail_states(self) -> frozenset[str]:
        """States whose unsent mail is cancelled when the case leaves them: those entered by a
        transition that sends mail, or reminded about (remind.py). Empty when the workflow
        keeps its unsent mail. Leaving another state costs the engine no query."""
        if not self.cancel_unsent_on_leave:
            return frozenset()
        return frozenset({t.dest for t in self.transitions if t.notify}
                         | {s.name for s in self.states.values()
                            if s.remind_after_days or s.escalate_after_days})

    @functools.cached_property
    def _final(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states.values() if s.final)

    @functools.cached_property
    def _seat(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states.values() if s.holds_seat)

    def final_states(self) -> frozenset[str]:
        return self._final

    def seat_states(self) -> frozenset[str]:
        return self._seat

    def reachable(self) -> set[str]:
        seen, todo = {self.initial}, [self.initial]
        while todo:
            here = todo.pop()
            for t in self.transitions:
                if here in t.source and t.dest not in seen:
                    seen.add(t.dest)
                    todo.append(t.dest)
        return seen

    def templates(self) -> set[str]:
        return {n.template for t in self.transitions for n in t.notify}

    # -- drawing ---------------------------------------------------------------------------
    def describe(self, fmt: str = "text") -> str:
        if fmt == "mermaid":
            lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
            for t in self.transitions:
                guard = ""
                if t.conditions:
                    guard = f" [{' and '.join(t.conditions)}]"
                if t.unless:
                    guard = f" [not {' or '.join(t.unless)}]"
                for s in t.source:
                    lines.append(f"    {s} --> {t.dest}: {t.trigger}{guard} ({', '.join(t.who)})")
            for s in self.states.values():
                if s.final:
                    lines.append(f"    {s.name} --> [*]")
            return "\n".join(lines)
        if fmt != "text":
            raise WorkflowError(f"unknown format {fmt!r} (use text or mermaid)")
        lines = [f"{self.title} ({self.name}); starts in {self.initial}", "", "States:"]
        width = max(18, *(len(name) for name in self.states))
        for s in self.states.values():
            flags = [f for f, on in (("final", s.final), ("holds the seat", s.holds_seat)) if on]
            flags += [k.replace("_", " ") for k, v in s.extra.items() if v is True]
            if s.waiting_for:
                flags.append(f"waits for {s.waiting_for}")
            if s.remind_after_days:
                flags.append("reminders after " + ", ".join(f"{d}d" for d in s.remind_after_days))
            if s.escalate_after_days:
                flags.append(f"escalates to {s.escalate_to} after {s.escalate_after_days}d")
            tail = f" [{'; '.join(flags)}]" if flags else ""
            lines.append(f"  {s.name:<{width}} {s.description}{tail}")
        lines += ["", "Transitions:"]
        for t in self.transitions:
            guard = ""
            if t.conditions:
                guard = f" if {' and '.join(t.conditions)}"
            if t.unless:
                guard = f" unless {' or '.join(t.unless)}"
            mails = ", ".join(f"{n.template} → {n.to}" for n in t.notify)
            lines.append(
                f"  {t.trigger:<22} {' | '.join(t.source)} → {t.dest}{guard}; "
                f"by {', '.join(t.who)}" + (f"; mails {mails}" if mails else "")
            )
        return "\n".join(lines)


def _tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _load_hooks(ref: str | None, path: Path) -> Hooks:
    if not ref:
        raise WorkflowError(f"{path}: names no hooks module (hooks = \"module:attribute\")")
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
        hooks = getattr(module, attr or "hooks")
    except (ImportError, AttributeError) as exc:
        raise WorkflowError(f"{path}: cannot load hooks {ref!r}: {exc}") from exc
    if not isinstance(hooks, Hooks):
        raise WorkflowError(f"{path}: {ref!r} is not a Hooks registry")
    return hooks


_cache: dict[tuple[str, str], Workflow] = {}


def load(name: str, directory: str | Path) -> Workflow:
    """The workflow `name` from `directory`, built once per process."""
    key = (name, str(directory))
    if key not in _cache:
        path = (Path(directory) / f"{name}.toml").resolve()
        if not path.exists():
            known = ", ".join(sorted(p.stem for p in Path(directory).glob("*.toml")))
            raise WorkflowError(f"no workflow named {name!r} in {directory} (known: {known})")
        _cache[key] = Workflow(path)
    return _cache[key]


def names(directory: str | Path) -> list[str]:
    return sorted(p.stem for p in Path(directory).glob("*.toml"))
