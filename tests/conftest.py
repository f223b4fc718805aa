"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import prepsuite
from prepsuite.cli import app

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "photos"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def sample_dump() -> Path:
    return Path(prepsuite.sample_dump())


@pytest.fixture(scope="session")
def photos() -> Path:
    if not PHOTOS.is_dir():
        pytest.skip(f"shared photos not found at {PHOTOS} (see ../shared/data/photos/README.md)")
    return PHOTOS


class Prep:
    """Runs `prep` in-process, the way a user types it."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | bytes | None = None, ok: bool = True):
        result = self.runner.invoke(app, [str(a) for a in args], input=input)
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


def snakemake(work: Path, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("snakemake")
    cmd = [str(exe), *args]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc
