"""appointer workflow …: the workflow files, drawn from what runs."""

from __future__ import annotations

import click

from appointer.cli._common import emit, pass_app


@click.group()
def workflow():
    """The workflows (files in workflows/) that cases follow."""


@workflow.command("list")
@pass_app
def workflow_list(app):
    """List the workflow files.

    \b
    Example:
      appointer workflow list
    """
    from appointer import workflow as wf

    for name in wf.names(app.settings.workflows_dir):
        click.echo(f"{name:<14} {wf.load(name, app.settings.workflows_dir).title}")


@workflow.command("show")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid", "json"]), default="text",
              show_default=True)
@pass_app
def workflow_show(app, name, fmt):
    """Draw a workflow from its file: states, triggers, who may fire them, emails, reminders.

    \b
    Examples:
      appointer workflow show appointment
      appointer workflow show appointment --format mermaid
    """
    from appointer import workflow as wf

    w = wf.load(name, app.settings.workflows_dir)
    if fmt == "json":
        emit(True, {"id": w.name, "state": "loaded", **w.raw})
    else:
        click.echo(w.describe(fmt))
