"""`appointer service import FILE.csv`: register existing services in bulk, all or nothing.

The file has a header row; columns are separated by commas or semicolons (as spreadsheets
in Norway write them); UTF-8, with or without a byte-order mark. Columns:

  name                    required: the approved Norwegian name
  kind                    required: national | multiregional | competence | centre | network
  hf                      required: the host institution (name, unique part of it, or orgnr)
  hf2                     the second host of a multiregional service
  name_en                 the approved English name
  function                competence services: training | competence_building
  leader_name, leader_email   the service's leader (gets the lifecycle emails)
  lang                    nb | en: the language of the leader's emails
  state                   lifecycle state (default established)
  requested_by            who asked for the application
  submitted_on, prioritised_on, sent_on, approved_on, rejected_on, established_on,
  last_evaluated_on, phase_out_initiated_on, reorganisation_decided_on, phased_out_on
                          the historic dates (YYYY-MM-DD) the state needs or allows
  reorganisation_outcome  discontinue | network | centre | other
  predecessor             the name of the service this one continues (in the file or already
                          registered): a network or centre that followed a competence service
  note                    free text for the file's readers; not stored

Every row is checked with the same rules as `service add`; each rejected row is reported
with its line and why, and then nothing at all is stored.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from appointer import records
from appointer.db import Tx
from appointer.errors import AppointerError, InvalidInput
from appointer.lifecycle import DATE_FIELDS
from appointer.reference import services_named

REQUIRED = ("name", "kind", "hf")
COLUMNS = (*REQUIRED, "hf2", "name_en", "function", "leader_name", "leader_email", "lang",
           "state", "requested_by", *DATE_FIELDS, "reorganisation_outcome", "predecessor",
           "note")


@dataclass
class ImportReport:
    source: str
    dry_run: bool
    rows: int = 0
    added: list[dict] = field(default_factory=list)  # line, id, name, state
    rejected: list[dict] = field(default_factory=list)  # line, name, reason
    warnings: list[dict] = field(default_factory=list)  # line, name, warning

    @property
    def stored(self) -> bool:
        return not self.rejected and not self.dry_run

    def as_dict(self) -> dict:
        state = "rejected" if self.rejected else ("checked" if self.dry_run else "imported")
        return {"id": self.source, "state": state, "rows": self.rows, "dry_run": self.dry_run,
                "stored": self.stored, "added": self.added, "rejected": self.rejected,
                "warnings": self.warnings}


def read_rows(text: str) -> list[tuple[int, dict]]:
    """(line number, row) for every non-empty data row; file-level problems raise."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise InvalidInput("the file is empty: it needs a header row (see `service import --help`)")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InvalidInput(f"unknown column(s) {', '.join(unknown)}; the columns are "
                           + ", ".join(COLUMNS))
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(f"the file has no column {', '.join(missing)} (required: "
                           + ", ".join(REQUIRED) + ")")
    if len(set(header)) != len(header):
        raise InvalidInput("a column appears twice in the header")
    reader.fieldnames = header
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
    return rows


def _date(row: dict, column: str) -> dt.date | None:
    value = row.get(column, "")
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{column}: {value!r} is not a date (use YYYY-MM-DD)") from None


def import_services(tx: Tx, text: str, *, source: str = "", dry_run: bool = False,
                    actor=None) -> ImportReport:
    """Register every row, or nothing: with a rejected row, or in a dry run, the transaction
    is rolled back before returning."""
    from appointer.services import register_service

    session = tx.session
    report = ImportReport(source=source, dry_run=dry_run)
    rows = read_rows(text)
    report.rows = len(rows)
    first_line: dict[str, int] = {}
    added: dict[str, records.Record] = {}
    continues: list[tuple[int, records.Record, str]] = []
    for line, row in rows:
        name = row["name"]
        try:
            if name.lower() in first_line:
                raise InvalidInput(f"the name is also on line {first_line[name.lower()]}")
            first_line.setdefault(name.lower(), line)
            values = {f: _date(row, f) for f in DATE_FIELDS}
            with session.begin_nested():
                service, warnings = register_service(
                    tx, name=name, kind=row["kind"], hosts=[h for h in (row["hf"], row.get("hf2"))
                                                          if h],
                    state=row.get("state") or "established", actor=actor,
                    comment=f"imported from {source or 'a file'}, line {line}",
                    name_en=row.get("name_en"), function=row.get("function") or None,
                    leader_name=row.get("leader_name"), leader_email=row.get("leader_email"),
                    lang=row.get("lang") or None, requested_by=row.get("requested_by"),
                    reorganisation_outcome=row.get("reorganisation_outcome") or None, **values)
        except AppointerError as exc:
            report.rejected.append({"line": line, "name": name, "reason": str(exc)})
            continue
        added[name.lower()] = service
        if row.get("predecessor"):
            continues.append((line, service, row["predecessor"]))
        report.added.append({"line": line, "id": service.id, "name": service.name,
                             "state": service.state})
        report.warnings += [{"line": line, "name": name, "warning": w} for w in warnings]
    for line, service, ref in continues:
        before = added.get(ref.lower()) or next(iter(services_named(session, ref)), None)
        if before is None or before.id == service.id:
            report.rejected.append({"line": line, "name": service.name,
                                    "reason": f"predecessor {ref!r} is neither in the file nor "
                                              "registered"})
        else:
            service.predecessor_id = before.id
            records.write(session, service)
    report.rejected.sort(key=lambda r: r["line"])
    if report.rejected or dry_run:
        session.rollback()
    else:
        session.flush()
    return report
