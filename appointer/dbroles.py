"""PostgreSQL logins for a shared install (`appointer db roles`), and identity "database":
the acting coordinator is the database login itself.

- One login role per coordinator, named from their email (`role_for`), member of the group
  role `appointer_coordinators`; `appointer_web` for the link pages and `appointer_cron` for
  the cron run.
- Each may read and write the case tables, and only INSERT and SELECT on the audit: no
  login but the schema's owner can change or delete an audit row, so the database itself
  protects the audit. Nobody but the owner writes `alembic_version` (migrations).
- In identity "database" the actor is `session_user` mapped to its coordinator, and `--as`
  is refused: a coordinator's login cannot act as another coordinator.

The statements are idempotent (a role that exists is kept); run them again after `appointer
init` has added tables, and after adding coordinators.
"""

from __future__ import annotations

import re

from sqlalchemy import text

GROUP, WEB, CRON = "appointer_coordinators", "appointer_web", "appointer_cron"
AUDIT = "auditevent"


def role_for(email: str) -> str:
    """The login role of the coordinator with this email: `coord_` and the address in
    lower-case letters, digits and underscores (PostgreSQL's 63-character limit)."""
    return ("coord_" + re.sub(r"[^a-z0-9]+", "_", email.lower()).strip("_"))[:63]


def _create(role: str, login: bool) -> str:
    kind = "LOGIN" if login else "NOLOGIN"
    return (f"DO $$ BEGIN CREATE ROLE {role} {kind}; "
            f"EXCEPTION WHEN duplicate_object THEN ALTER ROLE {role} {kind}; END $$")


def statements(coordinators: list[tuple[str, bool]]) -> list[str]:
    """The SQL for the roles and grants; `coordinators`: (email, active) pairs. An inactive
    coordinator's role may no longer log in."""
    out = [_create(GROUP, False), _create(WEB, True), _create(CRON, True)]
    for role in (GROUP, WEB, CRON):
        out += [f"GRANT USAGE ON SCHEMA public TO {role}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
                f"REVOKE UPDATE, DELETE, TRUNCATE ON {AUDIT} FROM {role}",
                f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role}"]
    for email, active in coordinators:
        role = role_for(email)
        out += [f"-- {email}", _create(role, active), f"GRANT {GROUP} TO {role}"]
    return out


def login_email(session) -> tuple[str, str | None]:
    """(the database login, the email of the active coordinator it belongs to, or None)."""
    from sqlmodel import select

    from appointer.models import Coordinator

    login = session.execute(text("SELECT session_user")).scalar()
    for email in session.exec(select(Coordinator.email).where(Coordinator.active)):
        if role_for(email) == login:
            return login, email
    return login, None
