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
