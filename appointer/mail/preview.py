"""Render a workflow's message for an existing case, as the engine would, without storing or
sending anything (`appointer mail preview TEMPLATE --case ID`)."""

from __future__ import annotations

from appointer import workflow as wf
from appointer.engine import SYSTEM, CaseContext, Recipient
from appointer.errors import InvalidInput, NotFound
from appointer.mail.render import render, template_path
from appointer.tokens import link_url

# case_type → the function that finds a case by what a person types (raises NotFound)
CASE_LOADERS = {"appointment": "appointer.appointments:get_case",
                "service": "appointer.reference:find_service"}
PLACEHOLDER = "recipient@example.invalid"


def find_template(workflows_dir: str, template: str) -> tuple[wf.Workflow, wf.Notify]:
    """The workflow file that names `template`, and the notify entry (recipients, links)."""
    known = []
    for name in wf.names(workflows_dir):
        workflow = wf.load(name, workflows_dir)
        for t in workflow.transitions:
            for note in t.notify:
                if note.template == template:
                    return workflow, note
                known.append(note.template)
    raise NotFound(f"no workflow sends {template!r}; templates the workflows send: "
                   + ", ".join(sorted(set(known))))


def preview(tx, template: str, case_id, lang: str | None = None) -> dict:
    import importlib

    settings, session = tx.settings, tx.session
    workflow, note = find_template(settings.workflows_dir, template)
    target = CASE_LOADERS.get(workflow.case_type)
    if target is None:
        raise InvalidInput(f"preview does not know where {workflow.case_type} cases live")
    module, _, attr = target.partition(":")
    case = getattr(importlib.import_module(module), attr)(session, case_id)
    ctx = CaseContext(case, tx, workflow, SYSTEM, {})
    # as if the transition that sends it had just been taken (its trigger and destination
    # are what the message talks about): the first one, preferring one from the case's state
    sending = [i for i, t in enumerate(workflow.transitions) if note in t.notify]
    ctx.taken = next((i for i in sending if case.state in workflow.transitions[i].source),
                     sending[0])
    recipients = workflow.hooks.recipients[note.to](ctx)
    first = recipients[0] if recipients else Recipient(PLACEHOLDER, None, "", settings.lang)
    if lang is not None:
        first = Recipient(first.email, first.name, first.role, lang)
    link = link_url(settings.base_url, "PREVIEW-NOT-A-REAL-LINK") if note.links else None
    context = workflow.hooks.context(ctx) if workflow.hooks.context else {}
    context.update(recipient=first, link=link)
    used = first.lang or settings.lang
    rendered = render(settings.templates_dir, template, used, context)
    return {
        "template": template,
        "file": template_path(settings.templates_dir, template, used),
        "case_type": workflow.case_type,
        "case_id": case.id,
        "state": case.state,
        "lang": used,
        "to": first.email,
        "recipients": [r.email for r in recipients],
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
    }

