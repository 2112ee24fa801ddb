"""The wheel is a working Appointer on its own: built, installed outside the checkout, it runs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(args, cwd, timeout=300):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("APPOINTER_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result.stdout


@pytest.mark.slow
@pytest.mark.backend_independent("a fresh venv runs the demo on its own SQLite file")
def test_wheel_installed_outside_the_checkout_runs_the_demo(tmp_path):
    """A wheel installed in a fresh venv (no checkout on its path) carries the workflows and
    mail templates: `--version`, `python -m appointer` and the demo all work there."""
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
         cwd=tmp_path)
    (wheel,) = dist.glob("appointer-*.whl")
    venv = tmp_path / "venv"
    # no pip of its own (bootstrapping one is slower than the rest of the test): this run's
    # pip installs into it
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python, appointer = venv / "bin" / "python", venv / "bin" / "appointer"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
          str(wheel)], cwd=tmp_path)
    # its dependencies: this run's own, as a plain path after the venv's (the .pth files there,
    # among them the editable install of this checkout, are not read: appointer comes from
    # the wheel alone, as the first assertion checks)
    deps = next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                cwd=tmp_path).strip()
    (Path(site) / "appointer-test-deps.pth").write_text(f"{deps}\n")

    where = _run([str(python), "-c", "import appointer.settings as s; "
                  "print(s.Settings().workflows_dir); print(s.Settings().templates_dir)"],
                 cwd=tmp_path).split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    assert "version 0.1.0" in _run([str(appointer), "--version"], cwd=tmp_path)
    assert "version 0.1.0" in _run([str(python), "-m", "appointer", "--version"], cwd=tmp_path)

    work = tmp_path / "work"
    work.mkdir()
    out = _run([str(appointer), "demo"], cwd=work)
    assert "appointed" in out
    assert len(list((work / "demo-out" / "mail" / "new").iterdir())) > 10
