"""bench/peers_bench.py (issue 15's peer benchmark) runs from the checkout, verifies every run
of every peer, and prints the ratio table the README's performance figures come from."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "peers_bench.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sqlite_only("the benchmark's workload is SQLite files with their own PRAGMAs, "
                            "whatever --backend says"),
]

# pystatemachine comes with the `bench` extra; without it that peer is left out (and its test skips)
PEERS = ["raw", "appointer-engine", "appointer-full"] + (
    ["pystatemachine"] if importlib.util.find_spec("statemachine") else [])


@pytest.fixture(scope="module")
def bench_run() -> subprocess.CompletedProcess:
    """One small run of the benchmark (30 cases, one run per peer), shared by the tests."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--n", "30", "--reps", "1", "--only", ",".join(PEERS)],
        capture_output=True, text=True, timeout=120, cwd=ROOT)


def run_lines(out: str) -> dict[str, str]:
    """peer -> its per-run line ('  [peer run 1] ... verify=...')."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^  \[(\S+) run 1\] .*$", out, re.M)}


def ratio_rows(out: str) -> dict[str, list[str]]:
    """peer -> the cells of its row in the ratio table (after 'Ratio table (issue 15)')."""
    _, found, table = out.partition("Ratio table (issue 15)")
    assert found, out
    lines = table.splitlines()[1:]
    assert "Appointer engine path ÷ peer" in lines[0] and "full path ÷ peer" in lines[0], lines[0]
    rows = {}
    for line in lines[2:]:
        if not line.strip():
            break
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = cells[1:]
    return rows


def test_every_run_verifies_and_the_ratio_table_has_every_peer(bench_run):
    """The benchmark exits 0 only when each peer's run, Appointer's included, passed its checks
    (final states, audit trail, outbox, foreign keys, WAL, an illegal trigger refused), and
    its ratio table divides Appointer's engine and full path by each peer's rate."""
    out = bench_run.stdout
    assert bench_run.returncode == 0, out + bench_run.stderr
    lines = run_lines(out)
    assert sorted(lines) == sorted(PEERS), out
    for line in lines.values():
        assert line.endswith("verify=ok"), line
    assert "FAILED" not in out and "PROBLEMS" not in out, out

    rows = ratio_rows(out)
    assert sorted(rows) == sorted(PEERS), out
    for peer in PEERS:
        rate, *ratios = rows[peer]
        assert float(rate.replace(",", "")) > 0, rows[peer]
        if not peer.startswith("appointer"):  # Appointer's engine and full path ÷ this peer
            assert len(ratios) == 2 and all(float(r) > 0 for r in ratios), rows[peer]
    assert rows["appointer-engine"][1] == "—" and rows["appointer-full"][-1] == "—", rows


def test_pystatemachine_peer_runs_beside_appointer(bench_run):
    """The python-statemachine peer (the one issue 15's engine-path goal is set against) runs
    and verifies in the same run, and the goal line compares Appointer's engine path with it."""
    pytest.importorskip("statemachine")
    out = bench_run.stdout
    assert bench_run.returncode == 0, out + bench_run.stderr
    assert run_lines(out)["pystatemachine"].endswith("verify=ok"), out
    assert re.search(r"^  appointer-engine >= 1\.3x pystatemachine: \d+\.\d\d  (met|NOT met)$",
                     out, re.M), out
