"""appointer service …: register national services and look at them."""

from __future__ import annotations

import click

from appointer.cli._common import emit, output_options, pass_app, table

KINDS = ["national", "multiregional", "competence", "centre", "network"]


@click.group()
def service():
    """National services (treatment, multiregional, competence), centres and networks."""


@service.command("add")
@click.option("--name", required=True, help="The approved Norwegian name.")
@click.option("--name-en", help="The approved English name.")
@click.option("--kind", required=True, type=click.Choice(KINDS),
              help="national (treatment, one HF) | multiregional (two HFs in two regions) | "
                   "competence | centre | network")
@click.option("--hf", "hosts", multiple=True, required=True, metavar="INSTITUTION",
              help="Host institution (name, part of a name, or orgnr); twice for multiregional.")
@click.option("--function", type=click.Choice(["training", "competence_building"]),
              help="Competence services: training (5-year term) or competence_building (10).")
@click.option("--leader-name", required=True, help="The service's leader.")
@click.option("--leader-email", required=True)
@click.option("--lang", type=click.Choice(["nb", "en"]), help="Language of its emails.")
@output_options
@pass_app
def service_add(app, name, name_en, kind, hosts, function, leader_name, leader_email, lang,
                as_json):
    """Register a service that already runs (state: established).

    \b
    Examples:
      appointer service add --name "Nasjonal behandlingstjeneste for epilepsikirurgi" \\
          --kind national --hf "Oslo universitetssykehus HF" \\
          --leader-name "Per Hansen" --leader-email per.hansen@ous-hf.no
      appointer service add --name "Flerregional behandlingstjeneste for X" --kind multiregional \\
          --hf "Oslo universitetssykehus HF" --hf "Helse Bergen HF" --leader-name … --leader-email …
    """
    from appointer.services import add_service

    with app.transaction() as tx:
        row = add_service(tx, name=name, name_en=name_en, kind=kind, hosts=list(hosts),
                          function=function, leader_name=leader_name, leader_email=leader_email,
                          lang=lang)
        data = service_dict(tx.session, row)
    emit(as_json, data, f"service {row.id}: {row.state} ({row.name})")


def service_dict(session, row) -> dict:
    from appointer.seats import hosts

    return {
        "id": row.id, "state": row.state, "name": row.name, "name_en": row.name_en,
        "kind": row.kind, "function": row.function,
        "hosts": [{"position": h.position, "institution": h.institution.name,
                   "region": h.institution.region_code} for h in hosts(session, row)],
        "leader_name": row.leader_name, "leader_email": row.leader_email,
        "group_leader_id": row.group_leader_id,
    }


@service.command("list")
@output_options
@pass_app
def service_list(app, as_json):
    """List services.

    \b
    Example:
      appointer service list --json
    """
    from appointer.services import list_services

    with app.transaction() as tx:
        data = [service_dict(tx.session, s) for s in list_services(tx.session)]
    emit(as_json, data, table(
        [[d["id"], d["state"], d["kind"], " + ".join(h["institution"] for h in d["hosts"]),
          d["name"]] for d in data], ["id", "state", "kind", "host", "name"]))


@service.command("show")
@click.argument("service_ref", metavar="SERVICE")
@output_options
@pass_app
def service_show(app, service_ref, as_json):
    """Show one service (by id or exact name).

    \b
    Example:
      appointer service show 3
    """
    from appointer.reference import find_service

    with app.transaction() as tx:
        data = service_dict(tx.session, find_service(tx.session, service_ref))
    lines = [f"Service {data['id']}: {data['name']}", f"  state:  {data['state']}",
             f"  kind:   {data['kind']}" + (f" ({data['function']})" if data["function"] else ""),
             "  hosts:  " + "; ".join(f"{h['institution']} ({h['region']})" for h in data["hosts"]),
             f"  leader: {data['leader_name']} <{data['leader_email']}>"]
    emit(as_json, data, "\n".join(lines))
