"""`prep verify`: a fresh shard directory passes; any tampering is caught and reported."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from prepsuite.shards import shard_dataset, verify_shards
from test_shards_helpers import make_dataset, read_manifest


@pytest.fixture
def sharded(tmp_path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    make_dataset(data, [20, 13])
    (data / "part-00001").write_bytes((data / "part-00001").read_bytes() + b"a bad line\n")
    shard_dataset(data, nranks=4, out=tmp_path / "out", seed=1)  # 33 lines: 9 per rank, 3 padding
    return data, tmp_path / "out"


def _rewrite_manifest(out: Path, edit) -> None:
    manifest = read_manifest(out)
    edit(manifest)
    (out / "manifest.json").write_text(json.dumps(manifest))


def _rehash(out: Path, rank: int) -> None:
    """Make the manifest agree with a tampered shard, as a careless fix-up would."""
    blob = (out / f"rank-{rank:05d}-of-00004.b64").read_bytes()

    def edit(m):
        m["ranks"][rank]["sha256"] = hashlib.sha256(blob).hexdigest()
        m["ranks"][rank]["bytes"] = len(blob)

    _rewrite_manifest(out, edit)


def test_a_fresh_output_verifies(sharded, prep):
    data, out = sharded
    report = verify_shards(out)
    assert report.ok and report.problems == []
    assert (report.n, report.nranks, report.per_rank_lines, report.padding, report.rejected) == (33, 4, 9, 3, 1)
    assert report.lines_checked == 36
    assert verify_shards(out, data).ok
    result = prep("verify", out, "--data-dir", data)
    assert "verify: OK" in result.stdout and "source parts checked" in result.stdout


def test_a_tampered_shard_is_caught(sharded, prep):
    _, out = sharded
    shard = out / "rank-00002-of-00004.b64"
    blob = bytearray(shard.read_bytes())
    blob[5] = ord("A") if blob[5] != ord("A") else ord("B")
    shard.write_bytes(bytes(blob))
    report = verify_shards(out)
    assert not report.ok
    assert any("rank-00002-of-00004.b64: sha256" in p for p in report.problems)
    result = prep("verify", out, ok=False)
    assert result.exit_code == 1
    assert "problem: rank-00002-of-00004.b64: sha256" in result.stdout
    assert "verify: FAILED" in result.stdout


def test_a_truncated_shard_is_caught(sharded):
    _, out = sharded
    shard = out / "rank-00001-of-00004.b64"
    shard.write_bytes(shard.read_bytes()[:-7])
    problems = verify_shards(out).problems
    assert any("has no newline: truncated file?" in p for p in problems)
    assert any("rank-00001-of-00004.b64: 9 lines" in p or "bytes, manifest says" in p for p in problems)


def test_a_missing_shard_is_caught(sharded):
    _, out = sharded
    (out / "rank-00003-of-00004.b64").unlink()
    assert "rank-00003-of-00004.b64: shard file missing" in verify_shards(out).problems


def test_a_dropped_line_is_caught_even_with_the_manifest_fixed_up(sharded):
    _, out = sharded
    shard = out / "rank-00000-of-00004.b64"
    lines = shard.read_bytes().split(b"\n")
    shard.write_bytes(b"\n".join(lines[:3] + lines[4:]))
    _rehash(out, 0)
    problems = verify_shards(out).problems
    assert any("rank-00000-of-00004.b64: 8 lines, manifest says 9" in p for p in problems)


def test_an_extra_duplicate_beyond_the_padding_is_caught(sharded):
    _, out = sharded
    # Replace a real line of rank 0 by a copy of another real line, and fix up the manifest.
    shard = out / "rank-00000-of-00004.b64"
    lines = shard.read_bytes().split(b"\n")[:-1]
    lines[1] = lines[0]
    shard.write_bytes(b"".join(line + b"\n" for line in lines))
    _rehash(out, 0)
    assert not verify_shards(out).ok


def test_an_altered_line_with_index_and_manifest_fixed_up_is_caught_against_the_source(sharded):
    data, out = sharded
    conn = sqlite3.connect(out / "index.db")
    repeated = set(conn.execute("SELECT source_file, source_line FROM lines WHERE is_padding = 1"))
    rows = conn.execute("SELECT position, source_file, source_line FROM lines WHERE rank = 2").fetchall()
    conn.close()
    position = next(p for p, *source in rows if tuple(source) not in repeated)  # a line never repeated
    shard = out / "rank-00002-of-00004.b64"
    lines = shard.read_bytes().split(b"\n")[:-1]
    image, label = lines[position].split(b"\t")
    swapped = image[:-8][::-1] + image[-8:]  # same length, same label, other bytes
    assert swapped != image
    lines[position] = swapped + b"\t" + label
    shard.write_bytes(b"".join(line + b"\n" for line in lines))
    _rehash(out, 2)
    assert verify_shards(out).ok  # consistent in itself...
    problems = verify_shards(out, data).problems  # ...but not what the source says
    assert any("the shard line differs from the source" in p for p in problems)


def test_a_changed_source_is_caught(sharded):
    data, out = sharded
    part = data / "part-00000"
    part.write_bytes(part.read_bytes() + b"QUJD\t1\n")
    problems = verify_shards(out, data).problems
    assert any("part-00000" in p and "changed since sharding" in p for p in problems)


def test_an_edited_manifest_is_caught(sharded):
    _, out = sharded
    _rewrite_manifest(out, lambda m: m.update(n=34))
    assert not verify_shards(out).ok
    _rewrite_manifest(out, lambda m: m.update(n=33, padding=0))
    assert any("padding 0 != 3" in p for p in verify_shards(out).problems)


def test_an_edited_index_is_caught(sharded):
    _, out = sharded
    conn = sqlite3.connect(out / "index.db")
    conn.execute("UPDATE lines SET label = label + 1 WHERE rank = 1 AND position = 2")
    conn.commit()
    conn.close()
    assert any("rank 1 position 2: label" in p for p in verify_shards(out).problems)


def test_a_padding_flag_moved_is_caught(sharded):
    _, out = sharded
    conn = sqlite3.connect(out / "index.db")
    conn.execute("UPDATE lines SET is_padding = 1 - is_padding WHERE rank = 0 AND position = 0")
    conn.commit()
    conn.close()
    assert any("is_padding" in p for p in verify_shards(out).problems)


def test_a_lost_reject_is_caught(sharded):
    _, out = sharded
    rejects = out / "rejects.tsv"
    rejects.write_text(rejects.read_text().splitlines()[0] + "\n")
    problems = verify_shards(out).problems
    assert any("0 rows, manifest records 1 rejected" in p for p in problems)
    assert any("part-00001: 1 source lines neither sharded nor rejected (first: line 14)" in p for p in problems)


def test_not_a_shard_directory(tmp_path, prep):
    report = verify_shards(tmp_path)
    assert not report.ok and "manifest missing" in report.problems[0]
    result = prep("verify", tmp_path / "nope", ok=False)
    assert result.exit_code == 1 and "not a directory" in result.stdout


def test_many_problems_are_summarised_not_listed_one_by_one(sharded):
    _, out = sharded
    conn = sqlite3.connect(out / "index.db")
    conn.execute("UPDATE lines SET label = label + 1")
    conn.commit()
    conn.close()
    problems = verify_shards(out).problems
    assert len(problems) == 6
    assert problems[-1] == "… and 31 more label problems"


def test_labels_written_unusually_verify(tmp_path):
    from test_shards_helpers import write_part

    write_part(tmp_path / "data", "p0", [b"QUJD\t007", b"QUJE\t-0", b"QUJF\t-12"])
    shard_dataset(tmp_path / "data", nranks=2, out=tmp_path / "out")
    assert verify_shards(tmp_path / "out", tmp_path / "data").ok
    conn = sqlite3.connect(tmp_path / "out" / "index.db")
    assert sorted(row[0] for row in conn.execute("SELECT label FROM lines WHERE is_padding = 0")) == [-12, 0, 7]
    conn.close()


def test_a_manifest_edited_into_the_wrong_shape_is_reported_not_raised(sharded):
    _, out = sharded
    _rewrite_manifest(out, lambda m: m["ranks"][0].update(real="nine"))
    report = verify_shards(out)
    assert not report.ok and any("malformed" in p or "rank 0" in p for p in report.problems)


@pytest.mark.parametrize("name", ["x\\tb", "back\\\\slash", "tab\there", "end\\"])
def test_rejects_from_parts_with_backslashes_or_tabs_in_their_names_verify(tmp_path, name):
    """The rejects file escapes a part's name; verify reads it back to the same name."""
    from test_shards_helpers import write_part

    write_part(tmp_path / "data", name, [b"QUJD\t1", b"not base64\t2", b"QUJF\t3"])
    shard_dataset(tmp_path / "data", nranks=2, out=tmp_path / "out")
    report = verify_shards(tmp_path / "out", tmp_path / "data")
    assert report.ok, report.problems
