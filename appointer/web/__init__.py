"""The confirmation-link pages (FastAPI on uvicorn): `create_app(settings, clock=None)`.

Importing this package imports FastAPI, which takes a while (bench/startup_bench.py); the CLI
imports it inside `appointer serve` only."""

from __future__ import annotations


def create_app(settings, clock=None):
    from appointer.web.app import create_app as _create

    return _create(settings, clock)


__all__ = ["create_app"]
