"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import prepsuite
from prepsuite.cli import app

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def sample_dump() -> Path:
    return Path(prepsuite.sample_dump())


@pytest.fixture(scope="session")
def photos() -> Path:
    """The bundled CC0 photos (src/prepsuite/data/photos): 42 JPEGs, 18 of them labelled."""
    return prepsuite.sample_photos()


class Prep:
    """Runs `prep` in-process, the way a user types it."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | bytes | None = None, ok: bool = True):
        result = self.runner.invoke(app, [str(a) for a in args], input=input, prog_name="prep")
        if ok and result.exit_code != 0:
            raise AssertionError(
                f"prep {' '.join(map(str, args))} exited {result.exit_code}:\n{result.output}"
                + (f"\n{result.exception!r}" if result.exception else "")
            )
        return result


@pytest.fixture
def prep() -> Prep:
    return Prep()


def snakemake_workdir(tmp_path: Path) -> Path:
    """A fresh copy of the workflow files, as a user's clone would have them."""
    work = tmp_path / "wf"
    work.mkdir()
    shutil.copy(REPO / "Snakefile", work / "Snakefile")
    shutil.copytree(REPO / "pipelines", work / "pipelines")
    shutil.copytree(REPO / "profiles", work / "profiles")
    return work


def _stacks(text: str) -> str:
    """faulthandler's dump without its long list of loaded extension modules."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("Extension modules:"))


SNAKEMAKE_TIMEOUT = 900  # seconds; the slowest workflow test takes under a minute here


def snakemake(work: Path, *args: str, check: bool = True,
              timeout: float = SNAKEMAKE_TIMEOUT) -> subprocess.CompletedProcess:
    """Runs the workflow as a user would. A run that hangs fails the test instead of the whole
    CI job: on timeout every Python process of the run (Snakemake, its jobs, their workers)
    gets SIGABRT, which faulthandler answers with the stack of each thread, and the failure
    shows those stacks from Snakemake's stderr and from the jobs' logs."""
    exe = Path(sys.executable).with_name("snakemake")
    cmd = [str(exe), *args]
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1")
    proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        tree = subprocess.run(["ps", "-o", "pid,ppid,stat,etime,args", "-s", str(proc.pid)],
                              capture_output=True, text=True).stdout
        os.killpg(proc.pid, signal.SIGABRT)
        time.sleep(3)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        logs = "".join(f"\n--- {log.relative_to(work)}:\n{_stacks(log.read_text(errors='replace'))[-3000:]}"
                       for log in sorted((work / "results" / "logs").rglob("*.log")))
        raise AssertionError(f"{' '.join(cmd)} still running after {timeout:.0f} s; processes:\n"
                             f"{tree}\nstderr:\n{_stacks(err)[-6000:]}{logs[-12000:]}") from None
    result = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{err[-4000:]}")
    return result
