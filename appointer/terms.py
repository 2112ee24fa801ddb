"""The domain words as people read them, per language, from `appointer/data/terms.toml`: the
one place a kind of service, a seat, a role, a state or a deadline gets its words. The mail
templates read them through `word(...)` and the `seat`, `role`, `represents`, `state` filters; the link pages through
`appointer.web.texts`."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

LANGS = ("nb", "en")
DEFAULT = "nb"
FILE = Path(__file__).resolve().parent / "data" / "terms.toml"


@lru_cache(maxsize=1)
def _terms() -> dict:
    with FILE.open("rb") as f:
        return tomllib.load(f)


def term(lang: str, key: str, default: str | None = None, **values) -> str:
    """The words for `key` (`kind.centre.indefinite`, `seat.region`, `state.appointment.ready`)
    in `lang` (falling back to nb), `{region}`/`{area}`/`{n}` filled in. An unknown key is a
    programming error (KeyError) unless a `default` is given."""
    node = _terms().get(lang if lang in LANGS else DEFAULT)
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            if default is not None:
                return default
            raise KeyError(f"no term {key!r} for {lang!r}")
    if isinstance(node, dict):
        node = node.get("name", "")
    if isinstance(node, list):  # a row of words (the agenda's column headers)
        return node
    return node.format(**values) if values else node


def region(lang: str, code: str) -> str:
    """A region's plain name: "Helse Vest" (the RHF that appoints is "Helse Vest RHF")."""
    return term(lang, f"region.{code}", default=code)


def _parts(code: str) -> tuple[str, str, str]:
    kind, _, rest = (code or "").partition(":")
    return kind, rest, ""


def seat(lang: str, code: str) -> str:
    """A seat code in plain words: region:vest -> "plassen for Helse Vest", user:1 ->
    "brukerrepresentant 1", other:2 -> "annen deltaker 2", service -> "tjenestens egen plass"."""
    kind, rest, _ = _parts(code)
    if kind == "region":
        return term(lang, "seat.region", region=region(lang, rest))
    if kind == "service":
        return term(lang, "seat.service_n", n=rest) if rest else term(lang, "seat.service")
    if kind in ("user", "other"):
        return term(lang, f"seat.{kind}", n=rest or "1")
    return code


def role(lang: str, code: str) -> str:
    """What a member on the seat is: "regional representant for Helse Vest", "brukerrepresentant"."""
    kind, rest, _ = _parts(code)
    if kind == "region":
        return term(lang, "role.region", region=region(lang, rest))
    return term(lang, f"role.{kind}", default=code)


def represents(lang: str, code: str) -> str:
    """Whom a member on the seat represents: "spesialisthelsetjenesten i helseregion Vest"."""
    kind, rest, _ = _parts(code)
    if kind == "region":
        return term(lang, "represents.region", area=term(lang, f"area.{rest}", default=rest))
    return term(lang, f"represents.{kind}", default=code)


def state(lang: str, workflow: str, code: str) -> str:
    """A workflow state as shown to people; the code itself where the file has no words."""
    return term(lang, f"state.{workflow}.{code}", default=code.replace("_", " "))
