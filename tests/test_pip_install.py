"""A user's install: a fresh virtualenv, `pip install` of the project and nothing else, then the
default workflow.

Users install Python packages with pip, into their own environments, containers and clusters;
a default that needs setup.sh's side effects (OpenCC's C++ build in a side directory) would
break for them. This test makes an environment the ordinary way, with no setup.sh, and runs
`snakemake -j2 corpus` with the default config in it: it must give the corpus the project's own
environment gives, byte for byte. (pip's cache is warm in CI: a minute or two.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, snakemake, snakemake_workdir


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc.stdout


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_pip_install_alone_runs_the_default_workflow(tmp_path):
    venv = tmp_path / "venv"
    # the environment of a user's shell, not this test run's: no project venv on PATH, no
    # variable pointing at setup.sh's OpenCC build
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PREPSUITE_OPENCC_CPP", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(Path(sys.prefix))))
    base = getattr(sys, "_base_executable", sys.executable)
    _run([base, "-m", "venv", str(venv)], tmp_path, env)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]
    _run(pip + [str(REPO)], tmp_path, env)
    assert not (venv / "opencc-cpp").exists()

    work = tmp_path / "user"
    work.mkdir()
    _run([str(venv / "bin" / "snakemake"), "-s", str(REPO / "Snakefile"), "-j2", "corpus"], work, env)
    corpus = work / "results" / "corpus" / "corpus.txt"
    stats = json.loads((work / "results" / "corpus" / "stats.json").read_text(encoding="utf-8"))
    assert stats["config"]["convert"]["engine"] == "pyo3"
    assert "北宋 毕昇 发明" in corpus.read_text(encoding="utf-8")

    # the same bytes as the project's own environment (setup.sh's) gives
    ours = snakemake_workdir(tmp_path)
    snakemake(ours, "-j2", "corpus")
    assert corpus.read_bytes() == (ours / "results" / "corpus" / "corpus.txt").read_bytes()
