"""Finding an institution by what a person types, strictly, and adding one.

An institution is found ONLY by its id, its organisation number, its exact name (ignoring
case, spaces, hyphens, dots and the word "HF": `universitetssykehuset nord-norge` is
Universitetssykehuset Nord-Norge HF) or one of its aliases (`OUS`, `UNN`, `St. Olav`; the
shipped ones are in `data/institution_aliases.csv`, more come with `institution add
--alias`). Nothing else is guessed: a part of a name is refused, with the nearest names
offered, because a guess stores the wrong hospital (`UNN` was once found inside "Sunnaas").

The normalised index is built once per transaction (`lookups.memoised`): the resolver is on
the hot path of a proposal.
"""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from sqlmodel import Session, select

from appointer import lookups
from appointer.db import Tx
from appointer.errors import InvalidInput, NotFound
from appointer.models import Institution, InstitutionAlias

_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015.,]+")
_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    """The words of a name as compared: case-folded, split on spaces, hyphens, dots and
    commas, without the word HF."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return tuple(w for w in _SEPARATORS.split(folded) if w and w != "hf")


def name_key(text: str) -> str:
    """What two names must share to be the same name."""
    return "".join(_words(text))


def check_orgnr(value: str | None) -> str:
    """A Norwegian organisation number: nine digits (spaces allowed between them), the last
    a modulus-11 check digit (Brønnøysund's rule); returned as the nine digits."""
    digits = "".join((value or "").split())
    if not re.fullmatch(r"[0-9]{9}", digits):
        raise InvalidInput(f"organisation number {value!r} must be nine digits")
    remainder = sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=False)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    if check == 10 or check != int(digits[8]):
        raise InvalidInput(f"organisation number {digits} fails its check digit (modulus 11); "
                           "check it in the Brønnøysund register")
    return digits


@dataclass
class _Index:
    by_key: dict[str, list] = field(default_factory=dict)  # name and alias keys -> rows
    by_id: dict[str, object] = field(default_factory=dict)
    by_orgnr: dict[str, object] = field(default_factory=dict)
    words: list[tuple[tuple[str, ...], object]] = field(default_factory=list)

    def add(self, text: str, row) -> None:
        words = _words(text)
        hits = self.by_key.setdefault("".join(words), [])
        if not any(h is row for h in hits):
            hits.append(row)
        self.words.append((words, row))


def _build(session: Session) -> _Index:
    index = _Index()
    by_id = {}
    for row in lookups.institutions(session):  # each attribute read once: Row access is slow
        row_id, orgnr = row.id, row.orgnr
        index.add(row.name, row)
        index.by_id[str(row_id)] = by_id[row_id] = row
        if orgnr:
            index.by_orgnr[orgnr] = row
    for alias, institution_id in lookups.institution_aliases(session):
        row = by_id.get(institution_id)
        if row is not None:  # an alias that is also another's name makes both ambiguous:
            index.add(alias, row)  # a duplicate from before `institution add` was strict
    return index


def _index(session: Session) -> _Index:
    return lookups.memoised(session, "institution_index", lambda: _build(session))


def _lookup(index: _Index, ref: str):
    """The row `ref` names, None if it names none; NotFound if it names several."""
    digits = "".join(ref.split())
    if digits.isascii() and digits.isdigit():
        return index.by_orgnr.get(digits) if len(digits) == 9 else index.by_id.get(digits)
    hits = index.by_key.get(name_key(ref), [])
    if len(hits) > 1:
        raise NotFound(f"{ref!r} names several institutions: "
                       + "; ".join(_known(h) for h in hits) + "; give the organisation number")
    return hits[0] if hits else None


def find_institution(session: Session, ref: str):
    """By id, organisation number, exact name (ignoring case, spaces, hyphens and "HF") or
    alias: the institution's row (id, name, kind, region_code, orgnr). Anything else is
    refused with the nearest names offered."""
    ref = (ref or "").strip()
    if len(ref) > 200:  # no name is this long; not echoed back whole
        raise NotFound(f"no institution {ref[:60]!r}… ({len(ref)} characters); see "
                       "`appointer institution list`")
    for row in lookups.institutions(session):  # as written first: nothing to normalise
        if ref == row.orgnr or ref == str(row.id) or (ref == row.name and row.orgnr):
            return row  # (a row without orgnr may be an old duplicate: see seed_aliases)
    row = _lookup(_index(session), ref) if ref else None
    if row is not None:
        return row
    near = suggestions(session, ref)
    if near:
        raise NotFound(f"no institution {ref!r}; did you mean {_either(near)}? (names, "
                       "organisation numbers and aliases: `appointer institution list`)")
    raise NotFound(f"no institution {ref!r}; see `appointer institution list` (or add it with "
                   "`appointer institution add`)")


def suggestions(session: Session, ref: str, limit: int = 3) -> list[str]:
    """The names of the institutions nearest to `ref`: those with a name or alias of which
    each word typed starts a word (`Univ Nord`), then close spellings (difflib)."""
    index = _index(session)
    typed = _words(ref)
    out: list[str] = []
    if typed:
        for words, row in index.words:
            if all(any(w.startswith(t) for w in words) for t in typed):
                _add_name(out, row)
    for key in difflib.get_close_matches(name_key(ref), list(index.by_key), n=limit,
                                         cutoff=0.6):
        for row in index.by_key[key]:
            _add_name(out, row)
    return out[:limit]


def _add_name(out: list[str], row) -> None:
    if row.name not in out:
        out.append(row.name)


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def aliases_by_institution(session: Session) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for alias in lookups.institution_aliases(session):
        out.setdefault(alias.institution_id, []).append(alias.alias)
    return out


def add_institution(tx: Tx, name: str, region_ref: str, kind: str, orgnr: str | None,
                    aliases: list[str] | tuple[str, ...] = (), actor=None) -> Institution:
    """A new institution, with its organisation number and any aliases, by an admin;
    audited. Refused when its name, organisation number or an alias already names an
    institution: a second row for the same hospital would get round the rules that compare
    institutions (`000` §3)."""
    from appointer import audit
    from appointer.reference import find_region, require_admin
    from appointer.text import check_name

    require_admin(actor, "add institutions")
    session = tx.session
    name = check_name(name or "", "the institution's name")
    aliases = [check_name(a, "an alias") for a in aliases]
    if not name or not name_key(name):
        raise InvalidInput("an institution needs a name")
    if kind not in ("hf", "private_nonprofit", "other"):
        raise InvalidInput("kind must be hf, private_nonprofit or other")
    if orgnr is None or not orgnr.strip():
        raise InvalidInput("an institution needs its organisation number (--orgnr, nine digits, "
                           "from the Brønnøysund register)")
    orgnr = check_orgnr(orgnr)
    region = find_region(session, region_ref)
    index = _index(session)
    if orgnr in index.by_orgnr:
        raise InvalidInput(f"organisation number {orgnr} is {_known(index.by_orgnr[orgnr])}: "
                           "already registered")
    given: dict[str, str] = {name_key(name): name}
    _refuse_known(index, name, "")
    cleaned = []
    for alias in aliases:
        alias = alias.strip()
        if not name_key(alias) or "".join(alias.split()).isdigit():
            raise InvalidInput(f"alias {alias!r} must contain letters (numbers are ids and "
                               "organisation numbers)")
        if name_key(alias) in given:
            raise InvalidInput(f"alias {alias!r} is the same as {given[name_key(alias)]!r}")
        _refuse_known(index, alias, "alias ")
        given[name_key(alias)] = alias
        cleaned.append(alias)
    row = Institution(name=name, kind=kind, region_code=region.code, orgnr=orgnr)
    session.add(row)
    session.flush()
    session.add_all(InstitutionAlias(alias=a, institution_id=row.id) for a in cleaned)
    session.flush()
    lookups.forget(session)
    audit.record(tx, "institution", row.id, "add", None, "active", actor,
                 f"{row.name} ({region.name}, {orgnr})",
                 changes={"name": (None, name), "orgnr": (None, orgnr),
                          "aliases": (None, ", ".join(cleaned) or None)})
    return row


def _refuse_known(index: _Index, text: str, what: str) -> None:
    hits = index.by_key.get(name_key(text), [])
    if hits:
        raise InvalidInput(f"{what}{text} is {'; '.join(_known(h) for h in hits)}: "
                           "already registered")


def _known(row) -> str:
    return f"{row.name} ({row.orgnr or 'no organisation number'})"


def seed_aliases(tx: Tx) -> int:
    """Load the shipped aliases (`data/institution_aliases.csv`): adds those missing whose
    institution is registered; changes nothing else. (An older database may hold a second
    record named like an alias, `OUS`: the name then resolves to neither, and the refusal
    lists both.)"""
    session = tx.session
    with resources.files("appointer.data").joinpath("institution_aliases.csv").open(
            encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_orgnr = {i.orgnr: i for i in session.exec(select(Institution)) if i.orgnr}
    stored = {a.alias for a in session.exec(select(InstitutionAlias))}
    added = 0
    for row in rows:
        inst = by_orgnr.get(row["orgnr"])
        if inst is None or row["alias"] in stored:
            continue
        session.add(InstitutionAlias(alias=row["alias"], institution_id=inst.id))
        stored.add(row["alias"])
        added += 1
    session.flush()
    lookups.forget(session)
    return added
