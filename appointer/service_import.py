"""`appointer service import FILE.csv`: take over a register of services, all or nothing.

What the register knows goes in; what it does not know is stored as unknown and listed for
completion (`services.missing`), never guessed. The file has a header row; columns are
separated by commas or semicolons (as spreadsheets in Norway write them; a field holding a
`;` list is then quoted); UTF-8, with or without a byte-order mark. Columns:

  name                    required: the approved Norwegian name
  kind                    required: a code (national | multiregional | competence | centre |
                          network) or its official label ("nasjonal kompetansetjeneste", …)
  hf                      the host institution(s) (exact name, orgnr or alias such as
                          OUS), `;` between two; empty: host unknown
  hf2                     the second host of a multiregional service (or give both in hf)
  name_en                 the approved English name
  function                competence services: training | competence_building; empty:
                          unknown (the term cannot be computed until it is known)
  leader_name, leader_email   the service's leader (gets the lifecycle emails)
  lang                    nb | en: the language of the leader's emails
  state                   lifecycle state (default established)
  requested_by            who asked for the application
  submitted_on, prioritised_on, sent_on, approved_on, rejected_on, established_on,
  last_evaluated_on, continued_on, change_step_on, phase_out_initiated_on,
  reorganisation_decided_on, phased_out_on
                          the historic dates the state needs or allows: YYYY-MM-DD, or
                          YYYY-MM / YYYY where only that is known (deadlines from such a
                          date are approximate)
  reorganisation_outcome  discontinue | network | centre | other
  continuation            competence services, with continued_on: new_term | centre |
                          network | other (the decision after a term)
  predecessors            the services this one continues, `;` between several (a merger):
                          names in the file or already registered (also: predecessor)
  previous_names          earlier names with the date each changed: "Old@2020-01-01; Older@2015"
  note                    the register's remark or source, stored and shown (also: source)

Every row is checked column by column and then with the rules of `service add`; every error
of every row is reported by its line and CSV column, and then nothing at all is stored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from appointer import lookups
from appointer.clock import DAY, parse_partial_date
from appointer.db import Tx
from appointer.errors import AppointerError, InvalidField, InvalidInput
from appointer.lifecycle import DATE_FIELDS

REQUIRED = ("name", "kind")
# a column that may go by either name (one meaning): the first is the one documented
ALIASES = {"predecessor": "predecessors", "source": "note"}
COLUMNS = (*REQUIRED, "hf", "hf2", "name_en", "function", "leader_name", "leader_email",
           "lang", "state", "requested_by", *DATE_FIELDS, "reorganisation_outcome",
           "continuation", "predecessors", "previous_names", "note", *ALIASES)


@dataclass
class ImportReport:
    source: str
    dry_run: bool
    rows: int = 0
    added: list[dict] = field(default_factory=list)  # line, id, name, state, missing
    rejected: list[dict] = field(default_factory=list)  # line, name, column, reason
    warnings: list[dict] = field(default_factory=list)  # line, name, warning

    @property
    def stored(self) -> bool:
        return not self.rejected and not self.dry_run

    def as_dict(self) -> dict:
        state = "rejected" if self.rejected else ("checked" if self.dry_run else "imported")
        return {"id": self.source, "state": state, "rows": self.rows, "dry_run": self.dry_run,
                "stored": self.stored, "added": self.added, "rejected": self.rejected,
                "warnings": self.warnings}


def read_rows(text: str, columns=COLUMNS, required=REQUIRED, command: str = "service import",
              aliases: dict | None = None) -> tuple[set[str], list[tuple[int, dict]]]:
    """The header's columns as written, and (line number, row) for every non-empty data row,
    columns under their documented names; file-level problems raise. The one reader of every
    import file (services, members): `columns` it may have, `required` ones, `aliases`
    (another name a column may be headed with) and the `command` whose --help describes
    them."""
    aliases = ALIASES if aliases is None and columns is COLUMNS else (aliases or {})
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise InvalidInput(f"the file is empty: it needs a header row (see `{command} --help`)")
    unknown = [h for h in header if h not in columns]
    if unknown:
        raise InvalidInput(f"unknown column(s) {', '.join(unknown)}; the columns are "
                           + ", ".join(c for c in columns if c not in aliases))
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(f"the file has no column {', '.join(missing)} (required: "
                           + ", ".join(required) + ")")
    canonical = [aliases.get(h, h) for h in header]
    if len(set(canonical)) != len(canonical):
        raise InvalidInput("a column appears twice in the header"
                           + (" (" + ", ".join(f"{a} and {c}" for a, c in aliases.items())
                              + " are one column)" if aliases else ""))
    reader.fieldnames = canonical
    rows = []
    try:
        for raw in reader:
            if None in raw:
                raise InvalidInput(f"line {reader.line_num}: more fields than the header has "
                                   "columns")
            row = {k: (v or "").strip() for k, v in raw.items()}
            if any(row.values()):
                rows.append((reader.line_num, row))
    except csv.Error as exc:  # a NUL byte, a field longer than csv.field_size_limit() …
        raise InvalidInput(f"line {reader.line_num + 1}: the CSV cannot be read ({exc})") from None
    return set(header), rows


def split_list(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]


class _Row:
    """One data row being checked: its values as the rules want them, and its errors."""

    def __init__(self, line: int, row: dict, header: set[str]):
        self.line, self.row, self.header = line, row, header
        self.name = row.get("name", "")
        self.errors: list[dict] = []

    def bad(self, column: str | None, reason: str) -> None:
        self.errors.append({"line": self.line, "name": self.name, "column": column,
                            "reason": reason})

    def column_of(self, name: str) -> str:
        """A rule's field as the file's column (`predecessors` may be headed `predecessor`)."""
        if name in ("host", "hosts"):
            name = "hf"
        for alias, canonical in ALIASES.items():
            if canonical == name and alias in self.header and name not in self.header:
                return alias
        return name


def _check_columns(tx: Tx, r: _Row) -> dict:
    """Each column on its own; returns the values for `register_service`."""
    from appointer import lifecycle
    from appointer.models import FUNCTIONS
    from appointer.reference import check_email, find_institution
    from appointer.services import parse_kind

    session, row = tx.session, r.row
    if not r.name:
        r.bad("name", "a service needs a name")
    kind = None
    try:
        kind = parse_kind(row["kind"])
    except InvalidField as exc:
        r.bad("kind", str(exc))
    hosts = []
    for column in ("hf", "hf2"):
        for ref in split_list(row.get(column, "")):
            try:
                find_institution(session, ref)
                hosts.append(ref)
            except AppointerError as exc:
                r.bad(column, str(exc))
    function = row.get("function") or None
    if function is not None and function not in FUNCTIONS:
        r.bad("function", f"{function!r} is not a function; give training (5-year term) or "
                          "competence_building (10-year term), or leave it empty if unknown")
    dates, precision = {}, {}
    for f in DATE_FIELDS:
        if row.get(f):
            try:
                dates[f], precision[f] = parse_partial_date(row[f])
            except ValueError:
                r.bad(f, f"{row[f]!r} is not a date (use YYYY-MM-DD, or YYYY-MM or YYYY where "
                         "only that is known)")
    email = row.get("leader_email") or None
    if email:
        try:
            email = check_email(email, "leader email")
        except InvalidInput as exc:
            r.bad("leader_email", str(exc))
    if row.get("lang") not in ("", None, "nb", "en"):
        r.bad("lang", f"lang must be nb or en, not {row['lang']!r}")
    states = [s for s in lifecycle.load_workflow(tx).states if s != "new"]
    state = row.get("state") or "established"
    if state not in states:
        r.bad("state", f"state must be one of {', '.join(states)}, not {state!r}")
    for column, allowed in (("reorganisation_outcome", lifecycle.OUTCOMES),
                            ("continuation", lifecycle.CONTINUATIONS)):
        if row.get(column) and row[column] not in allowed:
            r.bad(column, f"{column} must be one of {', '.join(allowed)}, not {row[column]!r}")
    previous = []
    for entry in split_list(row.get("previous_names", "")):
        old, at, day = entry.rpartition("@")
        try:
            if not at or not old.strip():
                raise ValueError
            previous.append((old.strip(), parse_partial_date(day)[0]))
        except ValueError:
            r.bad("previous_names", f"{entry!r}: give each earlier name with the date it "
                                    "changed, NAME@YYYY-MM-DD (or @YYYY-MM, @YYYY)")
    return dict(
        name=r.name, kind=kind, hosts=hosts, state=state, function=function,
        name_en=row.get("name_en"), leader_name=row.get("leader_name"), leader_email=email,
        lang=row.get("lang") or None, requested_by=row.get("requested_by"),
        reorganisation_outcome=row.get("reorganisation_outcome") or None,
        continuation=row.get("continuation") or None, note=row.get("note"),
        previous_names=previous,
        date_precision={f: p for f, p in precision.items() if p != DAY}, **dates)


def import_services(tx: Tx, text: str, *, source: str = "", dry_run: bool = False,
                    actor=None) -> ImportReport:
    """Register every row, or nothing: with a rejected row, or in a dry run, the transaction
    is rolled back before returning."""
    from appointer.engine import SYSTEM
    from appointer.reference import services_named
    from appointer.services import link_predecessors, missing, register_service

    session = tx.session
    report = ImportReport(source=source, dry_run=dry_run)
    header, rows = read_rows(text)
    report.rows = len(rows)
    first_line: dict[str, int] = {}
    added: dict[str, object] = {}
    continues: list[tuple[_Row, object, list[str]]] = []
    comment = f"imported from {source or 'a file'}"
    in_file = {row["name"].lower() for _, row in rows}
    for line, row in rows:
        r = _Row(line, row, header)
        for ref in split_list(row.get("predecessors", "")):
            if ref.lower() not in in_file and not services_named(session, ref):
                r.bad(r.column_of("predecessors"),
                      f"predecessor {ref!r} is neither in the file nor registered")
        if r.name and r.name.lower() in first_line:
            r.bad("name", f"the name is also on line {first_line[r.name.lower()]}")
        elif r.name:
            first_line[r.name.lower()] = line
        values = _check_columns(tx, r)
        if not r.errors:
            try:
                with session.begin_nested():
                    service, warnings = register_service(
                        tx, actor=actor, comment=f"{comment}, line {line}", **values)
            except InvalidField as exc:
                r.bad(r.column_of(exc.field), str(exc))
            except AppointerError as exc:
                r.bad(None, str(exc))
        if r.errors:
            report.rejected += r.errors
            continue
        added[r.name.lower()] = service
        if row.get("predecessors"):
            continues.append((r, service, split_list(row["predecessors"])))
        report.added.append({"line": line, "id": service.id, "name": service.name,
                             "state": service.state, "missing": missing(session, service),
                             "hosts": [h.name for _, h in lookups.hosts(session, service.id)]})
        report.warnings += [{"line": line, "name": r.name, "warning": w} for w in warnings]
    for r, service, names in continues:
        ids = []
        for ref in names:  # a name of the file whose row was rejected is listed already
            before = added.get(ref.lower()) if ref.lower() in in_file else \
                next(iter(services_named(session, ref)), None)
            if before is not None:
                ids.append(before.id)
        try:
            with session.begin_nested():
                link_predecessors(tx, service, ids, actor or SYSTEM,
                                  f"{comment}, line {r.line}: continues "
                                  + "; ".join(names))
        except InvalidField as exc:
            r.bad(r.column_of(exc.field), str(exc))
        report.rejected += r.errors
    def place(error: dict) -> tuple[int, int]:  # by line, then in the order of COLUMNS
        column = ALIASES.get(error["column"], error["column"])
        return error["line"], COLUMNS.index(column) if column in COLUMNS else -1

    report.rejected.sort(key=place)
    if report.rejected or dry_run:
        session.rollback()
    else:
        session.flush()
    return report
