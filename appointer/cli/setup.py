"""init, coordinator, region, institution: the register the workflows stand on."""

from __future__ import annotations

import click

from appointer.cli._common import emit, output_options, pass_app, table


@click.command()
@click.option("--admin", "admin_email", metavar="EMAIL",
              help="Make the first admin (who manages coordinators, contacts, institutions): "
                   "a registered coordinator, or a new one with --admin-name and --admin-region.")
@click.option("--admin-name", metavar="NAME", help="The first admin's name, if new.")
@click.option("--admin-region", metavar="CODE", help="The first admin's region, if new.")
@output_options
@pass_app
def init(app, admin_email, admin_name, admin_region, as_json):
    """Create the database, or bring an existing one up to date, and load the reference data.

    Loads the four RHFs (codes sor-ost, vest, midt, nord) and the health trusts and private
    non-profit hospitals. Safe to run again: it adds only what is missing and upgrades the
    schema of an older database. With --admin it also makes the first admin (only while
    there is none). With `identity = "os"` the first admin is the account running init
    (--admin gives its email; the login is taken from the operating system).

    \b
    Example:
      appointer init --admin kari@helse-nord.no --admin-name "Kari Nord" --admin-region nord
      appointer --db /srv/appointer/appointer.sqlite init
    """
    from appointer import db, reference

    if app.settings.identity == "os" and app.actor_email:
        raise click.ClickException("identity is \"os\": --as / APPOINTER_ACTOR is not "
                                   "accepted; the first admin is the account running init")
    before, after = db.migrate(app.settings)
    made = None
    with app.transaction() as tx:
        added = reference.seed(tx)
        if admin_email:
            login = app.os_login() if app.settings.identity == "os" else None
            made = reference.make_first_admin(tx, admin_email, admin_name, admin_region,
                                              login=login)
    where = display_url(app.settings.db_url)
    schema = "created" if before is None else ("upgraded" if before != after else "up to date")
    admin = made and {"email": made.email, "region": made.region_code, "login": made.login}
    emit(as_json, {"id": where, "state": "ready", "schema": schema, "revision": after,
                   **added, "admin": admin},
         f"Database {where}: schema {schema} (revision {after}); added {added['regions']} "
         f"regions, {added['institutions']} institutions and {added['aliases']} aliases."
         + (f"\nFirst admin: {made.email} ({made.region_code})"
            + (f", login {made.login}" if made.login else "") if made else ""))


def display_url(url: str) -> str:
    """Where the database is, never with its password."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.group()
def coordinator():
    """RHF coordinators: the people who advance cases."""


@coordinator.command("add")
@click.option("--email", required=True, help="Work email; also what --as takes.")
@click.option("--name", required=True)
@click.option("--region", required=True, help="Region code or name (nord, 'Helse Nord RHF').")
@click.option("--admin", is_flag=True, help="Also an admin (manages coordinators, contacts, "
              "institutions).")
@click.option("--login", metavar="NAME", help="The operating-system account that proves this "
              "coordinator when identity is \"os\".")
@output_options
@pass_app
def coordinator_add(app, email, name, region, admin, login, as_json):
    """Register a coordinator of a region's service environment (an admin's act).

    \b
    Example:
      appointer --as admin@helse-vest.no coordinator add --email kari@helse-nord.no \\
          --name "Kari Nord" --region nord --login kari
    """
    from appointer import reference

    with app.transaction() as tx:
        row = reference.add_coordinator(tx, email, name, region, actor=app.actor(tx.session),
                                        admin=admin, login=login)
    emit(as_json, {"id": row.id, "state": "active", "email": row.email, "name": row.name,
                   "region": row.region_code, "admin": row.admin, "login": row.login},
         f"coordinator {row.id}: {row.email} ({row.region_code})"
         + (", admin" if row.admin else "") + (f", login {row.login}" if row.login else ""))


@coordinator.command("remove")
@click.argument("email")
@output_options
@pass_app
def coordinator_remove(app, email, as_json):
    """Deactivate a coordinator who left: they can no longer act (--as is refused) and get no
    mail; the history keeps their name. `coordinator add` with the same email brings them
    back.

    \b
    Example:
      appointer --as admin@helse-vest.no coordinator remove ola@helse-nord.no
    """
    from appointer import reference

    with app.transaction() as tx:
        row = reference.remove_coordinator(tx, email, app.actor(tx.session))
    emit(as_json, {"id": row.id, "state": "inactive", "email": row.email, "name": row.name,
                   "region": row.region_code},
         f"coordinator {row.id}: {row.email} ({row.region_code}) removed; inactive")


@coordinator.command("list")
@output_options
@pass_app
def coordinator_list(app, as_json):
    """List coordinators, active and removed (inactive).

    \b
    Example:
      appointer coordinator list --json
    """
    from sqlmodel import select

    from appointer.models import Coordinator

    with app.transaction() as tx:
        rows = list(tx.session.exec(select(Coordinator).order_by(Coordinator.region_code,
                                                                 Coordinator.email)))
    data = [{"id": r.id, "state": "active" if r.active else "inactive", "email": r.email,
             "name": r.name, "region": r.region_code, "admin": r.admin, "login": r.login}
            for r in rows]
    emit(as_json, data, table([[d["id"], d["region"], d["email"], d["name"], d["state"],
                                "admin" if d["admin"] else "", d["login"] or ""]
                               for d in data],
                              ["id", "region", "email", "name", "state", "role", "login"]))


@click.group()
def region():
    """The four RHFs and their service-environment contact addresses."""


@region.command("contact")
@click.argument("code")
@click.argument("email", required=False)
@click.option("--clear", is_flag=True, help="Remove the contact address (the region's "
                                            "coordinators get its mail instead).")
@output_options
@pass_app
def region_contact(app, code, email, clear, as_json):
    """Set a region's service-environment contact address (gets candidate requests and the
    word of appointments made by other regions), or --clear it. Audited, old → new.

    \b
    Examples:
      appointer --as admin@helse-vest.no region contact vest servicemiljo@helse-vest.no
      appointer --as admin@helse-vest.no region contact nord --clear
    """
    from appointer import reference

    if bool(email) == clear:
        raise click.UsageError("give either EMAIL or --clear")
    with app.transaction() as tx:
        row = reference.set_region_contact(tx, code, None if clear else email,
                                           actor=app.actor(tx.session))
    emit(as_json, {"id": row.code, "state": "contact set" if row.contact_email else "no contact",
                   "contact_email": row.contact_email},
         f"region {row.code}: contact {row.contact_email or '(none: its coordinators)'}")


@region.command("list")
@output_options
@pass_app
def region_list(app, as_json):
    """List the regions with their contact addresses and coordinators.

    \b
    Example:
      appointer region list
    """
    from sqlmodel import select

    from appointer.models import Coordinator, Region

    with app.transaction() as tx:
        regions = list(tx.session.exec(select(Region)))
        coords = list(tx.session.exec(select(Coordinator)))
    order = {"sor-ost": 0, "vest": 1, "midt": 2, "nord": 3}
    regions.sort(key=lambda r: order.get(r.code, 9))
    data = [{"id": r.code, "state": "contact set" if r.contact_email else "no contact",
             "code": r.code, "name": r.name, "orgnr": r.orgnr, "contact_email": r.contact_email,
             "coordinators": [c.email for c in coords if c.region_code == r.code]}
            for r in regions]
    emit(as_json, data, table(
        [[d["code"], d["name"], d["orgnr"], d["contact_email"] or "(none)",
          len(d["coordinators"])] for d in data],
        ["code", "name", "orgnr", "contact", "coordinators"]))


@click.group()
def institution():
    """Health trusts (HF) and private non-profit hospitals."""


@institution.command("list")
@click.option("--region", help="Only this region.")
@output_options
@pass_app
def institution_list(app, region, as_json):
    """List institutions that can host services or employ members, with their aliases.

    An institution is found by its id, organisation number, exact name (case, spaces,
    hyphens and "HF" do not matter) or one of its aliases; nothing else.

    \b
    Example:
      appointer institution list --region vest
    """
    from sqlmodel import select

    from appointer import institutions, reference
    from appointer.models import Institution

    with app.transaction() as tx:
        query = select(Institution).order_by(Institution.region_code, Institution.name)
        if region:
            query = query.where(Institution.region_code == reference.find_region(tx.session,
                                                                                 region).code)
        rows = list(tx.session.exec(query))
        aliases = institutions.aliases_by_institution(tx.session)
    data = [{"id": r.id, "state": "active", "name": r.name, "kind": r.kind,
             "region": r.region_code, "orgnr": r.orgnr, "aliases": aliases.get(r.id, [])}
            for r in rows]
    emit(as_json, data, table([[d["id"], d["region"], d["kind"], d["orgnr"], d["name"],
                                ", ".join(d["aliases"])] for d in data],
                              ["id", "region", "kind", "orgnr", "name", "aliases"]))


@institution.command("add")
@click.option("--name", required=True, help="The full name, as in the Brønnøysund register.")
@click.option("--region", required=True)
@click.option("--kind", type=click.Choice(["hf", "private_nonprofit", "other"]), default="hf",
              show_default=True)
@click.option("--orgnr", required=True,
              help="Nine-digit organisation number (Brønnøysund); its check digit is checked.")
@click.option("--alias", "aliases", multiple=True, metavar="NAME",
              help="Another name it goes by (an abbreviation); repeatable.")
@output_options
@pass_app
def institution_add(app, name, region, kind, orgnr, aliases, as_json):
    """Add an institution the reference data lacks (names change over time).

    Refused when the name, the organisation number or an alias already names an
    institution: one hospital is one institution, or the composition rules that compare
    institutions could be got round.

    \b
    Example:
      appointer --as admin@helse-vest.no institution add --name "Sykehuset Nytt HF" --region sor-ost \\
          --orgnr 123456785 --alias SNY
    """
    from appointer import institutions

    with app.transaction() as tx:
        row = institutions.add_institution(tx, name, region, kind, orgnr, aliases,
                                           actor=app.actor(tx.session))
        stored = institutions.aliases_by_institution(tx.session).get(row.id, [])
    emit(as_json, {"id": row.id, "state": "active", "name": row.name, "region": row.region_code,
                   "orgnr": row.orgnr, "aliases": stored},
         f"institution {row.id}: {row.name} ({row.region_code}, {row.orgnr})"
         + (f", also known as {', '.join(stored)}" if stored else ""))
