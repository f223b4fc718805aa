"""`prep` behaves like the tools people know: --version, -h, -o/--out everywhere ('-' for stdout),
-q/-v, defaults that say what they are, and counts that read right ("1 chunk")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import prepsuite
from prepsuite.text.chunks import auto_chunks

PREP = str(Path(sys.executable).with_name("prep"))


def test_version_and_short_help(prep):
    assert prep("--version").stdout.strip() == f"prep (prepsuite) {prepsuite.__version__}"
    top = prep("-h").stdout
    assert "Usage: prep [OPTIONS] COMMAND" in top and "-o/--out" in top and "--install-completion" in top
    for command in (["pack"], ["shard"], ["verify"], ["clean"], ["w2v", "train"]):
        text = prep(*command, "-h").stdout
        assert f"Usage: prep {' '.join(command)}" in text and "-q, --quiet" in text and "-v, --verbose" in text


def test_output_by_option_or_by_the_older_argument(prep, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("漢字的「簡化」\n", encoding="utf-8")
    prep("convert", src, "-o", tmp_path / "a.txt")
    prep("convert", src, tmp_path / "b.txt")
    prep("convert", src, "--out", tmp_path / "c.txt")
    assert (tmp_path / "a.txt").read_text() == (tmp_path / "b.txt").read_text() == (tmp_path / "c.txt").read_text() == "汉字的「简化」\n"
    assert prep("convert", src, "-o", "-").stdout == "汉字的「简化」\n"
    twice = prep("convert", src, tmp_path / "d.txt", "-o", tmp_path / "e.txt", ok=False)
    assert twice.exit_code == 2 and "the output is named twice" in twice.output
    none = prep("convert", src, ok=False)
    assert none.exit_code == 2 and "no output: name it with -o/--out" in none.output


def test_a_pipe_of_the_text_stages():
    shell = (f"printf '漢字的「簡化」\\n' | {PREP} clean - -o - | {PREP} convert - -o - | {PREP} segment - -o -")
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=True)
    assert proc.stdout == "汉字 的 “ 简化 ”\n"  # corner quotes become the usual ones when cleaning


def test_quiet_and_verbose_before_or_after_the_command(prep, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a\n", encoding="utf-8")
    assert "convert: 1 in, 1 out" in prep("convert", src, "-o", tmp_path / "o1").stderr
    for args in (["-q", "convert", src, "-o", tmp_path / "o2"], ["convert", src, "-o", tmp_path / "o3", "--quiet"]):
        assert prep(*args).stderr == ""
    # -q keeps the errors
    bad = prep("-q", "convert", tmp_path / "missing.txt", "-o", tmp_path / "o4", ok=False)
    assert bad.exit_code == 1 and "prep: error:" in bad.stderr
    # the next command is not quiet: -q belongs to one command line
    assert "convert: 1 in" in prep("convert", src, "-o", tmp_path / "o5").stderr
    assert "Traceback" in prep("convert", tmp_path / "missing.txt", "-o", tmp_path / "o6", "-vv", ok=False).stderr


def test_shard_inside_a_dataset_directory_needs_only_nranks(prep, tmp_path, monkeypatch):
    photos = prepsuite.sample_photos() / "single_jpeg"
    prep("pack", photos, photos / "image_list.txt", "-o", tmp_path / "dataset", "--part-lines", "10")
    monkeypatch.chdir(tmp_path / "dataset")
    result = prep("shard", "--nranks", "8")
    assert "shard: 18 lines from 2 part files" in result.stderr and "8 ranks x 3 lines" in result.stderr
    assert (tmp_path / "dataset" / "shards-8" / "manifest.json").is_file()
    assert prep("verify", "shards-8", "--data-dir", ".").stdout.endswith("verify: OK\n")
    assert prep("-q", "verify", "shards-8").stdout == ""  # -q: nothing to say when all is well


def test_extract_and_plan_chunks_default_to_auto_as_the_workflow(prep, tmp_path):
    dump = prepsuite.sample_dump()
    result = prep("extract", dump, "-o", tmp_path / "out")
    chunks = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(chunks) == auto_chunks(dump) and result.stderr.startswith("extract: ")
    bad = prep("extract", dump, "-o", tmp_path / "x", "--chunks", "many", ok=False)
    assert bad.exit_code == 2 and "neither an integer >= 1 nor auto" in bad.output
    plan = prep("plan", prepsuite.sample_dump(multistream=True), "-o", tmp_path / "plan.json", "--chunks", "1")
    assert plan.stderr.startswith("plan: 6 streams in 1 chunk of 10.9 kB compressed -> ")


def test_extract_stats_count_the_wikitext_read(prep, tmp_path):
    import json

    prep("extract", prepsuite.sample_dump(), "-o", tmp_path / "out", "--chunks", "1", "--stats", tmp_path / "s.json")
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["chars_in"] > stats["chars_out"] > 0


@pytest.mark.parametrize("n, noun, text", [(1, "chunk", "1 chunk"), (2, "chunk", "2 chunks"), (0, "problem", "0 problems"),
                                           (1200, "line", "1,200 lines")])
def test_counts_read_right(n, noun, text):
    from prepsuite.wording import counted

    assert counted(n, noun) == text
