"""The suite's backend switch: without the PostgreSQL server binaries a `--backend postgres`
run skips, saying why, on a developer's machine, and fails in CI (CI=true), so CI cannot pass
without the PostgreSQL run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _pytest(tmp_path, ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPOINTER_") and k != "CI"}
    env["APPOINTER_TEST_PG_BIN"] = str(tmp_path / "no-postgres-here")
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "--backend", "postgres",
                           "tests/test_smoke.py"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.backend_independent("runs pytest in a subprocess, with no PostgreSQL binaries")
def test_without_postgres_binaries_the_run_skips_saying_why_but_fails_in_ci(tmp_path):
    """No initdb/pg_ctl: skipped with the reason (exit 0) on a developer's machine; with
    CI=true the run fails (non-zero exit) naming what is missing."""
    local = _pytest(tmp_path, ci=False)
    assert local.returncode == 0, local.stdout + local.stderr
    assert "skipped" in local.stdout and "PostgreSQL server binaries" in local.stdout
    ci = _pytest(tmp_path, ci=True)
    assert ci.returncode != 0, ci.stdout + ci.stderr
    assert "CI: the PostgreSQL run cannot be skipped" in ci.stdout + ci.stderr
