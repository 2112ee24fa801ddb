"""Every command of the CLI, found by walking the click tree: the tests that must cover each
command (its docs, hostile input) pick a new command up by themselves."""

from __future__ import annotations

import click

from appointer.cli import main


def all_commands() -> list[tuple[str, click.Command]]:
    """("member advance", <command>) for every leaf command, in --help order."""
    ctx = click.Context(main)
    out = []

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), [*path, name])
        else:
            out.append((" ".join(path), cmd))

    walk(main, [])
    return out
