"""Every example in README.md and docs/*.md runs as written.

Each fenced ```bash and ```python block is one test, named FILE:LINE. The blocks of one file
run in order, in one temporary working directory of their own (a later block may use what an
earlier one made), with the project's environment first on PATH (so `prep`, `snakemake` and
`python` are this checkout's) and PREPSUITE_REPO set to the repository root (for examples that
need the workflow files: `cp -r "$PREPSUITE_REPO"/{Snakefile,pipelines,profiles} .`).

A block that cannot run here (a 3 GB dump, a cluster, a GPU) has the line

    <!-- docs-test: skip (the reason) -->

directly above its fence; it is reported as skipped with that reason. Output is shown in
```text or ```console blocks, which are not run. A failing block shows its command and the
end of its output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUNNABLE = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python", "py": "python"}
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")
SKIP = re.compile(r"^\s*<!--\s*docs-test:\s*skip\s*(?:\((?P<reason>.*)\))?\s*-->\s*$")
#: A block may run a whole workflow on the sample dump (a minute or two on a loaded machine).
BLOCK_TIMEOUT = 900


@dataclass(frozen=True)
class Block:
    file: Path
    line: int  # 1-based line of the opening fence
    lang: str  # "bash" or "python"
    code: str
    skip: str | None  # the reason, when marked to be skipped

    @property
    def name(self) -> str:
        return f"{self.file.relative_to(REPO)}:{self.line}"


def blocks_of(path: Path) -> list[Block]:
    """The runnable fenced blocks of a Markdown file, in order. A skip marker applies to the
    fence right below it (blank lines between are allowed); a marker above a fence that is not
    run, or followed by no fence, is an error, so a stale marker cannot linger unnoticed."""
    lines = path.read_text(encoding="utf-8").split("\n")
    found: list[Block] = []
    pending: tuple[int, str] | None = None  # (line, reason) of a skip marker waiting for its fence
    i = 0
    while i < len(lines):
        marker = SKIP.match(lines[i])
        if marker:
            reason = (marker.group("reason") or "").strip()
            if not reason:
                raise ValueError(f"{path}:{i + 1}: docs-test skip marker without a (reason)")
            pending = (i + 1, reason)
            i += 1
            continue
        fence = FENCE.match(lines[i])
        if not fence:
            if lines[i].strip() and pending:
                raise ValueError(f"{path}:{pending[0]}: docs-test skip marker not directly above a fence")
            i += 1
            continue
        start, mark, lang = i, fence.group("fence"), fence.group("info").lower()
        body: list[str] = []
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(mark[0] * len(mark))
                                      and not lines[i].strip().strip(mark[0])):
            body.append(lines[i][len(fence.group("indent")):] if lines[i].startswith(fence.group("indent")) else lines[i])
            i += 1
        i += 1  # the closing fence
        if lang in RUNNABLE:
            found.append(Block(path, start + 1, RUNNABLE[lang], "\n".join(body) + "\n",
                               pending[1] if pending else None))
        elif pending:
            raise ValueError(f"{path}:{pending[0]}: docs-test skip marker above a ```{lang} block, which is never run")
        pending = None
    if pending:
        raise ValueError(f"{path}:{pending[0]}: docs-test skip marker followed by no fence")
    return found


def doc_files() -> list[Path]:
    return [p for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))] if p.is_file()]


ALL_BLOCKS = [block for path in doc_files() for block in blocks_of(path)]


def environment() -> dict[str, str]:
    """The user's environment with this checkout's venv first on PATH, as after `source
    .venv/bin/activate`."""
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
    env["PREPSUITE_REPO"] = str(REPO)
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory) -> dict[Path, Path]:
    """One working directory per documentation file, made when its first block runs."""
    return {}


def run_block(block: Block, cwd: Path) -> subprocess.CompletedProcess:
    script = cwd.parent / f"{cwd.name}-line{block.line}.{'sh' if block.lang == 'bash' else 'py'}"
    script.write_text(block.code, encoding="utf-8")
    cmd = ["bash", "-euo", "pipefail", str(script)] if block.lang == "bash" else [sys.executable, str(script)]
    return subprocess.run(cmd, cwd=cwd, env=environment(), capture_output=True, text=True,
                          timeout=BLOCK_TIMEOUT, stdin=subprocess.DEVNULL)


@pytest.mark.slow
@pytest.mark.timeout(BLOCK_TIMEOUT + 60)
@pytest.mark.parametrize("block", ALL_BLOCKS, ids=lambda b: b.name)
def test_documentation_example_runs(block: Block, workdirs: dict[Path, Path], tmp_path_factory):
    if block.file not in workdirs:
        workdirs[block.file] = tmp_path_factory.mktemp(block.file.stem) / "work"
        workdirs[block.file].mkdir()
    if block.skip:
        pytest.skip(f"{block.name}: {block.skip}")
    proc = run_block(block, workdirs[block.file])
    if proc.returncode != 0:
        pytest.fail(f"{block.name} ({block.lang}) exited {proc.returncode}:\n{block.code}\n"
                    f"--- stdout:\n{proc.stdout[-3000:]}\n--- stderr:\n{proc.stderr[-5000:]}", pytrace=False)


# --- the harness itself -----------------------------------------------------------------------


def test_blocks_are_found_with_their_skip_markers(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text(
        "# t\n\n```bash\necho one\n```\n\n<!-- docs-test: skip (needs a 3 GB dump) -->\n```bash\n"
        "prep extract big.xml.bz2 out/\n```\n\n```text\noutput\n```\n\n```python\nprint(2)\n```\n"
        "\n````bash\n```\nnested\n````\n"
    )
    found = blocks_of(doc)
    assert [(b.line, b.lang, b.skip) for b in found] == [
        (3, "bash", None), (8, "bash", "needs a 3 GB dump"), (16, "python", None), (20, "bash", None)]
    assert found[0].code == "echo one\n" and found[3].code == "```\nnested\n"


@pytest.mark.parametrize("text, problem", [
    ("<!-- docs-test: skip -->\n```bash\nx\n```\n", "without a (reason)"),
    ("<!-- docs-test: skip (r) -->\nprose\n```bash\nx\n```\n", "not directly above a fence"),
    ("<!-- docs-test: skip (r) -->\n```text\nx\n```\n", "never run"),
    ("text\n<!-- docs-test: skip (r) -->\n", "followed by no fence"),
])
def test_misplaced_skip_markers_are_refused(tmp_path, text, problem):
    doc = tmp_path / "x.md"
    doc.write_text(text)
    with pytest.raises(ValueError, match=re.escape(problem)):
        blocks_of(doc)


def test_blocks_of_a_file_share_a_directory_and_see_the_environment(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    first = Block(REPO / "README.md", 1, "bash", 'echo made > made.txt\ntest -f "$PREPSUITE_REPO/Snakefile"\n', None)
    second = Block(REPO / "README.md", 5, "python",
                   "import shutil, sys\nassert open('made.txt').read() == 'made\\n'\n"
                   "assert shutil.which('prep').startswith(sys.prefix)\n", None)
    failing = Block(REPO / "README.md", 9, "bash", "false\necho not reached\n", None)
    assert run_block(first, work).returncode == 0
    assert run_block(second, work).returncode == 0, run_block(second, work).stderr
    proc = run_block(failing, work)
    assert proc.returncode == 1 and "not reached" not in proc.stdout
