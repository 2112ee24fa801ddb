"""Domain errors. The CLI and the web app translate these; domain code never imports either."""


class AppointerError(Exception):
    """Base class: a message a coordinator can act on."""


class NotFound(AppointerError):
    """A case, service, region, institution or person that does not exist."""


class InvalidInput(AppointerError):
    """Input that breaks a rule; nothing was stored."""


class InvalidField(InvalidInput):
    """Input that breaks a rule about one field (a service's `hf`, `approved_on`, …): each
    front end names the field its own way (a CSV column, a command-line option)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class NotAllowed(AppointerError):
    """A trigger that is not allowed in the case's current state."""

    def __init__(self, message: str, allowed: list[str] | None = None):
        super().__init__(message)
        self.allowed = allowed or []


class Forbidden(AppointerError):
    """The acting person may not do this; the message says who may."""


class Conflict(AppointerError):
    """The case changed meanwhile (another coordinator, another click): try again."""


class NotInitialised(AppointerError):
    """No database, or one at an older schema revision."""


class DatabaseProblem(AppointerError):
    """The database file is damaged, cannot be written (read-only), or broke one of its own
    rules; the message says which, and what to do."""


class WorkflowError(Exception):
    """A workflow file that does not hold together (unknown state, guard, role, …)."""


# What a database driver's message may say, mapped to words a coordinator can act on. Only
# these are shown: a driver's own text can carry the statement and its parameters (names,
# addresses), so an unknown one is named by its kind only.
# The words that mark a damaged, read-only or unopenable file: db.describe_problem names the
# file with them, the boundary below says the same without it.
DB_DAMAGED = ("malformed", "not a database", "file is encrypted", "disk image", "corrupt")
DB_READ_ONLY = ("readonly", "read-only", "read only")
DB_CANNOT_OPEN = ("unable to open",)

_DB_PROBLEMS = (
    (("locked", "busy"), "the database is busy: another Appointer process held it too long; "
                         "run it again in a moment"),
    (DB_DAMAGED, "the database file is damaged, or is not an Appointer database"),
    (DB_READ_ONLY, "the database is read-only here (check the permissions of the file and its "
                   "folder)"),
    (DB_CANNOT_OPEN, "cannot open the database file (does its folder exist, and may this user "
                     "write there?)"),
    (("disk i/o",), "the disk failed while reading or writing the database"),
    (("database or disk is full",), "the disk holding the database is full"),
    (("pattern too complex",), "a search text is too long"),
    (("too big", "string or blob too big"), "a value is too long to store"),
    (("no such table", "no such column"), "the database's tables do not match this version of "
                                          "Appointer; run `appointer init`"),
    (("constraint failed",), None),  # SQLite names the table and columns only: shown
    (("too many sql variables", "too many terms"), "too many values in one request"),
)


def describe(exc: BaseException) -> str:
    """One line saying what went wrong, safe to print anywhere (a terminal, cron mail, a log):
    never a statement, its parameters, or a value from the database."""
    if isinstance(exc, AppointerError):
        return str(exc)
    if isinstance(exc, WorkflowError):
        return f"workflow file: {exc}"
    kind = type(exc).__name__
    module = type(exc).__module__ or ""
    if module.startswith("sqlalchemy"):
        return _describe_database(exc, kind)
    if isinstance(exc, OverflowError):
        return "a number or a date too large to compute with"
    if isinstance(exc, UnicodeError):
        return "text that is not UTF-8 (check the encoding of the file or the terminal)"
    if isinstance(exc, MemoryError):
        return "not enough memory"
    if isinstance(exc, ModuleNotFoundError):
        return f"a part Appointer needs is not installed: {exc.name}"
    if isinstance(exc, ValueError) and "null byte" in str(exc):  # os and sqlite3 refuse NUL
        return "a file name or a value holds a NUL character"
    if isinstance(exc, OSError):
        where = f" {exc.filename!r}" if exc.filename else ""
        return f"cannot use{where}: {exc.strerror or kind}"
    if module == "_csv":
        return f"the CSV file cannot be read: {exc}"
    return (f"unexpected {kind}; run again with --debug for the traceback, and report it "
            "(the traceback may show names and addresses: share it with care)")


def _describe_database(exc, kind: str) -> str:
    if kind == "NoSuchModuleError":  # "Can't load plugin: sqlalchemy.dialects:foo"
        scheme = str(exc).rpartition(":")[2].strip()[:40]
        return (f"the database URL names a kind of database Appointer has no driver for "
                f"({scheme!r}); use a file path, sqlite:///PATH or postgresql://…")
    if kind == "ArgumentError":
        return ("the database setting (--db / APPOINTER_DB) is neither a file path nor a "
                "database URL Appointer can use")
    orig = getattr(exc, "orig", None)
    if orig is None:
        return f"a database error ({kind})"
    if isinstance(orig, AppointerError | OverflowError | UnicodeError):
        return describe(orig)
    first = (str(orig).strip().splitlines() or [""])[0]
    low = first.lower()
    for needles, message in _DB_PROBLEMS:
        if any(n in low for n in needles):
            return message or f"the database refused the change: {first[:200]}"
    return f"a database error ({kind}: {type(orig).__name__}); run again with --debug for details"
