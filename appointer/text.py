"""What a name or a free text may hold: the one check every place that stores one calls.

Names (of services, members, leaders, coordinators, institutions) and free text (comments,
notes, reasons) end up in emails, on the link pages, in the calendar and in terminals.
Refused everywhere:
- control characters (C0 and C1, DEL, NUL): ESC and BEL rewrite a coordinator's terminal,
  NUL cuts a value short in C libraries, and none of them can be typed into a form;
- bidi overrides and isolates (U+202A–U+202E, U+2066–U+2069): they make a name display as
  something else than what is stored ("Trojan Source");
- lone surrogates: bytes that were not UTF-8 (from a mis-encoded file or command line).
Free text may hold newlines and tabs; a name may not. Lengths are limited (NAME_MAX, TEXT_MAX)
so that one value cannot make an email, a page or a database search unmanageable.
"""

from __future__ import annotations

import re

from appointer.errors import InvalidInput

NAME_MAX = 300
TEXT_MAX = 5000

_BIDI = "\u202a-\u202e\u2066-\u2069"
_FORBIDDEN_IN_NAME = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff\u2028\u2029]")
_FORBIDDEN_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")


# The largest id SQLite (and PostgreSQL's bigint) can hold.
ID_MAX = 2**63 - 1


def parse_id(value) -> int | None:
    """The id a person typed (`12`), or None if it is not one: ASCII digits only, 1..ID_MAX.
    (Python's int() and str.isdigit() also take '١', Arabic-Indic one, as 1.)"""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value).strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 19):
            return None
        number = int(text)
    return number if 1 <= number <= ID_MAX else None


def check_name(value: str | None, what: str = "name") -> str | None:
    """A name, stripped; None stays None. InvalidInput says what is wrong with it."""
    return _check(value, what, NAME_MAX, _FORBIDDEN_IN_NAME, "a name")


def check_text(value: str | None, what: str = "text", limit: int = TEXT_MAX) -> str | None:
    """A free text (comment, note, reason), stripped; newlines and tabs allowed."""
    return _check(value, what, limit, _FORBIDDEN_IN_TEXT, "a text")


def _check(value, what, limit, forbidden, kind):
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{what} is {len(value):,} characters long; {kind} may have at most "
                           f"{limit:,}")
    bad = forbidden.search(value)
    if bad:
        char = bad.group()
        raise InvalidInput(f"{what} holds the character {describe_char(char)} at position "
                           f"{bad.start() + 1}; {kind} may not hold control, bidi-override or "
                           "non-UTF-8 characters")
    return value


def describe_char(char: str) -> str:
    """U+001B (a control character), for a message: never the character itself."""
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "that is not UTF-8 (a byte that is not text)"
    if code in (0x0A, 0x2028, 0x2029):
        return f"U+{code:04X} (a line break)"
    if code == 0x09:
        return "U+0009 (a tab)"
    kind = "a bidi override" if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069 \
        else "a control character"
    return f"U+{code:04X} ({kind})"


def shown(value: str, limit: int = 60) -> str:
    """A value the user typed, quoted for an error message: cut short, and with control
    characters escaped (repr), so that a message never carries them to the terminal."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def printable(value: str) -> str:
    """`value` for a terminal: characters a name may not hold written as escapes (\\x1b), the
    rest as it is. For text read from a file that is reported before it is refused."""
    return _FORBIDDEN_IN_NAME.sub(lambda m: repr(m.group())[1:-1], value)
