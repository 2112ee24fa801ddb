"""The text form of `appointer service show` (the data comes from `services.details`)."""

from __future__ import annotations

KIND_NAMES = {
    "national": "national treatment service",
    "multiregional": "multiregional treatment service",
    "competence": "national competence service",
    "centre": "national centre",
    "network": "national quality and competence network",
}


def _when(due: dict) -> str:
    from appointer.agenda_text import duration

    if due["done"]:
        return "met"
    days = due["days_left"]
    if due.get("backlog"):  # passed before Appointer knew of it: not reminded (backlog.py)
        return f"{duration('en', days)} overdue; backlog, not reminded"
    if due["overdue"]:
        return f"{duration('en', days)} overdue"
    return "today" if days == 0 else f"in {duration('en', days)}"


def render_details(d: dict) -> str:
    from appointer.clock import format_partial, to_oslo

    kind = KIND_NAMES.get(d["kind"], d["kind"])
    if d["function"]:
        kind += f" ({d['function'].replace('_', ' ')})"
    # since when: the state's own date where the register has one (established 2014), else
    # the day Appointer recorded the state
    on = d["dates"].get(f"{d['state']}_on")
    since = (format_partial(on, d["date_precision"].get(f"{d['state']}_on")) if on
             else f"{to_oslo(d['state_since']).date()} (recorded)")
    rows = [
        ("English name", d["name_en"] or "-"),
        ("state", f"{d['state']} since {since}"
         + ("; reference group may be built" if d["reference_group"] else "")),
        ("kind", kind),
        ("hosts", "; ".join(f"{h['institution']} ({h['region']})" for h in d["hosts"])
         or "unknown"),
        ("leader", f"{d['leader_name']} <{d['leader_email']}>" if d["leader_email"] else "-"),
    ]
    if d["requested_by"]:
        rows.append(("requested by", d["requested_by"]))
    if d["note"]:
        rows.append(("note", d["note"]))
    for p in d["predecessors"]:
        rows.append(("continues", f"service {p['id']} {p['name']} ({p['state']})"))
    for s in d["successors"]:
        rows.append(("continued as", f"service {s['id']} {s['name']} ({s['kind']}, {s['state']})"))
    rows.append(("next", ", ".join(d["allowed"]) or "nothing (final)"))
    if d["missing_text"]:
        rows.append(("INCOMPLETE", d["missing_text"]))
    lines = [f"Service {d['id']}: {d['name']}"] + [f"  {k:<14} {v}" for k, v in rows]

    known = d["date_precision"]
    dated = [(k.removesuffix("_on").replace("_", " "), format_partial(v, known.get(k)))
             for k, v in d["dates"].items() if v]
    if d["reorganisation_outcome"]:
        dated.append(("outcome", d["reorganisation_outcome"]))
    if d["continuation"]:
        dated.append(("continuation", d["continuation"]))
    if dated:
        lines += ["", "Dates"] + [f"  {k:<24} {v}" for k, v in dated]

    computed = []
    if d["round"]:
        r = d["round"]
        computed.append(f"  application round {r['year']}: region's application by "
                        f"{r['internal_deadline']}, joint application to {d['deciding_body']} "
                        f"by {r['send_by']}, feedback by {r['feedback_by']}")
    if d["first_report_year"]:
        computed.append(f"  annual reports from {d['first_report_year']} (the year after "
                        "establishment)")
    if d["term"]:
        computed.append(f"  {d['term']}")
    for due in d["deadlines"]:
        computed.append(f"  {due['due_text']:<10}  {due['label']} [{_when(due)}]")
    if computed:
        lines += ["", f"Deadlines (today {d['today']})"] + computed

    if d["names"]:
        lines += ["", "Names"] + [
            f"  {n['valid_from']}  {'approved' if n['approved'] else 'applied for'}: {n['name']}"
            + (f" / {n['name_en']}" if n["name_en"] else "") for n in d["names"]]
    if d["volumes"]:
        lines += ["", "New patients a year"] + [
            f"  {v['year']}  {v['patients']:>5}" + (f"  {v['flag']}" if v["flag"] else "")
            for v in d["volumes"]]
    if d["history"]:
        lines += ["", "History"] + [
            f"  {to_oslo(e['at']).strftime('%Y-%m-%d %H:%M')}  {e['actor']:<28} {e['trigger']:<22} "
            f"{e['from'] or '—'} → {e['to']}" + (f"  {e['comment']}" if e["comment"] else "")
            + (f"\n      {e['decided_by']} decided (ref. {e['decision_ref']}); recorded by "
               f"{e['actor']}" if e.get("decided_by") else "")
            for e in d["history"]]
    return "\n".join(lines)
