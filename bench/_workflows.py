"""The workflow files as the benchmarks' "engine path" runs them."""

from __future__ import annotations

from pathlib import Path


def without_mail(workflows_dir: str, workdir: str) -> str:
    """A copy of `workflows_dir` in `workdir` with every `notify` line removed: the engine
    path (state change, version check, audit, link revocation) without rendering or queueing
    any email. Returns the copy's folder."""
    dst = Path(workdir) / "workflows-no-mail"
    dst.mkdir()
    for f in Path(workflows_dir).glob("*.toml"):
        lines = [ln for ln in f.read_text().splitlines()
                 if not ln.startswith("notify") and not ln.startswith("    {")
                 and ln.strip() != "]"]
        (dst / f.name).write_text("\n".join(lines) + "\n")
    return str(dst)
