"""`prep shard`: equal, padded, globally shuffled rank shards, the way a training job uses them."""

from __future__ import annotations

import base64
import hashlib
import math
import os
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from prepsuite.shards import shard_dataset, shuffled_order, verify_shards
from prepsuite.textio import InputError
from test_shards_helpers import (
    jpeg_bytes,
    make_dataset,
    read_manifest,
    read_rejects,
    shard_lines,
    tree_bytes,
    write_part,
)


# --- equal counts, nothing lost or altered -------------------------------------------------


@pytest.mark.parametrize("nranks", [1, 3, 8])
def test_every_rank_gets_ceil_n_over_nranks_lines_for_n_from_1_to_well_past_nranks(tmp_path, nranks):
    for n in range(1, 5 * nranks + 4):
        data = tmp_path / f"d{n}"
        lines = make_dataset(data, [n // 2, n - n // 2], seed=n)
        out = tmp_path / f"o{n}"
        result = shard_dataset(data, nranks=nranks, out=out, seed=n, allow_more_ranks=True)
        per_rank = math.ceil(n / nranks)
        shards = shard_lines(out)
        assert [len(s) for s in shards] == [per_rank] * nranks, n
        assert (result.n, result.per_rank_lines, result.padding) == (n, per_rank, per_rank * nranks - n)
        # every input line exactly once among the real lines, the padding repeats input lines
        manifest = read_manifest(out)
        out_lines = [line for s in shards for line in s]
        assert set(out_lines) == set(lines)  # nothing lost, nothing made up
        assert len(out_lines) - len(set(out_lines)) == manifest["padding"]
        assert [r["real"] + r["padding"] for r in manifest["ranks"]] == [per_rank] * nranks
        assert sum(r["real"] for r in manifest["ranks"]) == n


def test_the_real_lines_are_the_input_lines_byte_for_byte(tmp_path):
    data = tmp_path / "data"
    lines = make_dataset(data, [40, 1, 0, 25], newline_at_end=False)  # last lines without newline
    result = shard_dataset(data, nranks=4, out=tmp_path / "out")
    rows = _index(tmp_path / "out")
    shards = shard_lines(tmp_path / "out")
    real = [shards[r][p] for (r, p), row in rows.items() if not row["is_padding"]]
    assert sorted(real) == sorted(lines)
    assert result.n == 66 and result.rejected == 0


def test_the_input_is_never_modified_or_deleted(tmp_path):
    data = tmp_path / "data"
    make_dataset(data, [10, 10])
    before = tree_bytes(data)
    mtimes = {p: p.stat().st_mtime_ns for p in data.iterdir()}
    shard_dataset(data, nranks=3, out=tmp_path / "out")
    shard_dataset(data, nranks=3, out=tmp_path / "out", overwrite=True)
    assert tree_bytes(data) == before
    assert {p: p.stat().st_mtime_ns for p in data.iterdir()} == mtimes


def test_files_are_named_by_rank_and_rank_count(tmp_path):
    make_dataset(tmp_path / "data", [5])
    shard_dataset(tmp_path / "data", nranks=3, out=tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "index.db", "manifest.json", "rank-00000-of-00003.b64", "rank-00001-of-00003.b64",
        "rank-00002-of-00003.b64", "rejects.tsv",
    ]


# --- the shuffle --------------------------------------------------------------------------------


def test_same_arguments_give_byte_identical_output(tmp_path):
    data = tmp_path / "data"
    make_dataset(data, [30, 17, 9])
    shard_dataset(data, nranks=4, out=tmp_path / "a", seed=3)
    shard_dataset(data, nranks=4, out=tmp_path / "b", seed=3)
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    shard_dataset(data, nranks=4, out=tmp_path / "a", seed=3, overwrite=True)
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")


def test_the_seed_is_recorded_and_another_seed_gives_another_order(tmp_path):
    data = tmp_path / "data"
    make_dataset(data, [50])
    shard_dataset(data, nranks=2, out=tmp_path / "default")
    shard_dataset(data, nranks=2, out=tmp_path / "s1", seed=1)
    assert read_manifest(tmp_path / "default")["seed"] == 0
    assert read_manifest(tmp_path / "s1")["seed"] == 1
    a, b = shard_lines(tmp_path / "default"), shard_lines(tmp_path / "s1")
    assert a != b
    assert sorted(a[0] + a[1]) == sorted(b[0] + b[1])


def test_the_shuffle_is_global_across_part_files(tmp_path):
    data = tmp_path / "data"
    lines = make_dataset(data, [25, 25, 25, 25])
    shard_dataset(data, nranks=4, out=tmp_path / "out")
    part_of = {line: k // 25 for k, line in enumerate(lines)}
    for rank in shard_lines(tmp_path / "out"):
        assert len({part_of[line] for line in rank}) == 4  # every rank draws from every part
    interleaved = [line for group in zip(*shard_lines(tmp_path / "out")) for line in group]
    assert interleaved != lines


def test_the_shuffle_is_uniform():
    # Where element 0 lands, over 800 seeds: each of 8 positions expects 100.
    counts = Counter(int((shuffled_order(8, 1, seed) == 0).nonzero()[0][0]) for seed in range(800))
    assert sorted(counts) == list(range(8))
    assert all(60 <= c <= 140 for c in counts.values()), counts


# --- the global-batch property -------------------------------------------------------------------


@pytest.mark.parametrize("nranks", [2, 3, 8])
def test_per_rank_batch_b_on_n_ranks_is_global_batch_b_of_size_bn_on_one_rank(tmp_path, nranks):
    data = tmp_path / "data"
    make_dataset(data, [37, 26])  # n = 63: not a multiple of any nranks here but 3
    shard_dataset(data, nranks=1, out=tmp_path / "one", seed=5)
    shard_dataset(data, nranks=nranks, out=tmp_path / "many", seed=5)
    (one,) = shard_lines(tmp_path / "one")
    ranks = shard_lines(tmp_path / "many")
    n = len(one)
    for per_rank_batch in (1, 2, 5):
        global_batch = per_rank_batch * nranks
        for b in range(n // global_batch):  # the full global batches
            union = [line for rank in ranks for line in rank[b * per_rank_batch : (b + 1) * per_rank_batch]]
            assert sorted(union) == sorted(one[b * global_batch : (b + 1) * global_batch]), (per_rank_batch, b)
    # Stronger: dealing the ranks back out, position by position, gives the one-rank order,
    # followed by the padding.
    interleaved = [rank[p] for p in range(len(ranks[0])) for rank in ranks]
    assert interleaved[:n] == one
    assert set(interleaved[n:]) <= set(one)


# --- padding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n,nranks", [(1001, 8), (9, 8), (15, 8), (10, 4), (3, 8), (1, 8)])
def test_padding_is_spread_one_repeat_per_rank_at_most(tmp_path, n, nranks):
    data = tmp_path / "data"
    lines = make_dataset(data, [n])
    shard_dataset(data, nranks=nranks, out=tmp_path / "out", allow_more_ranks=True)
    manifest = read_manifest(tmp_path / "out")
    pad = math.ceil(n / nranks) * nranks - n
    assert manifest["padding"] == pad
    per_rank_padding = [r["padding"] for r in manifest["ranks"]]
    assert max(per_rank_padding) <= 1 and sum(per_rank_padding) == pad
    rows = _index(tmp_path / "out")
    assert sum(row["is_padding"] for row in rows.values()) == pad
    repeats = [shard_lines(tmp_path / "out")[r][p] for (r, p), row in rows.items() if row["is_padding"]]
    assert set(repeats) <= set(lines)
    assert len(set(repeats)) == min(pad, n)  # no line repeated twice while another is not repeated


def test_padding_beyond_the_dataset_repeats_every_line_evenly(tmp_path):
    data = tmp_path / "data"
    lines = make_dataset(data, [2])
    shard_dataset(data, nranks=7, out=tmp_path / "out", allow_more_ranks=True)  # 1 line per rank, 5 repeats of 2 lines
    counts = Counter(line for rank in shard_lines(tmp_path / "out") for line in rank)
    assert sorted(counts.values()) == [3, 4] and set(counts) == set(lines)


# --- the index and the manifest ---------------------------------------------------------------------


def _index(out: Path) -> dict[tuple[int, int], dict]:
    conn = sqlite3.connect(out / "index.db")
    conn.row_factory = sqlite3.Row
    rows = {(row["rank"], row["position"]): dict(row) for row in conn.execute("SELECT * FROM lines")}
    conn.close()
    return rows


def test_index_has_one_row_per_output_line_pointing_at_shard_and_source(tmp_path):
    data = tmp_path / "data"
    make_dataset(data, [12, 9], newline_at_end=False)
    shard_dataset(data, nranks=5, out=tmp_path / "out", seed=2)
    out = tmp_path / "out"
    manifest = read_manifest(out)
    rows = _index(out)
    assert len(rows) == manifest["per_rank_lines"] * manifest["nranks"]
    for (rank, position), row in rows.items():
        shard = (out / manifest["ranks"][rank]["file"]).read_bytes()
        line = shard[row["shard_offset"] : row["shard_offset"] + row["length"]]
        assert shard[row["shard_offset"] + row["length"]] == ord("\n")
        assert shard.split(b"\n")[position] == line
        source = (data / row["source_file"]).read_bytes()
        assert source[row["source_offset"] : row["source_offset"] + row["length"]] == line
        assert source.split(b"\n")[row["source_line"] - 1] == line
        assert line.endswith(b"\t" + str(row["label"]).encode())
        assert row["is_padding"] == int(rank + position * manifest["nranks"] >= manifest["n"])


def test_index_schema_primary_key_and_rank_index(tmp_path):
    import sqlite_utils

    make_dataset(tmp_path / "data", [4])
    shard_dataset(tmp_path / "data", nranks=2, out=tmp_path / "out")
    table = sqlite_utils.Database(tmp_path / "out" / "index.db")["lines"]
    assert table.columns_dict == {
        "rank": int, "position": int, "shard_offset": int, "length": int, "source_file": str,
        "source_line": int, "source_offset": int, "label": int, "is_padding": int,
    }
    assert table.pks == ["rank", "position"]
    assert [ix.columns for ix in table.indexes if not ix.name.startswith("sqlite_autoindex")] == [["rank"]]


def test_manifest_records_counts_seed_and_hashes_of_shards_and_sources(tmp_path):
    data = tmp_path / "data"
    make_dataset(data, [7, 6])
    (data / "part-00001").write_bytes((data / "part-00001").read_bytes() + b"not a line\n")
    shard_dataset(data, nranks=4, out=tmp_path / "out", seed=11)
    m = read_manifest(tmp_path / "out")
    assert {k: m[k] for k in ("format_version", "n", "nranks", "seed", "per_rank_lines", "padding", "rejected")} == {
        "format_version": 1, "n": 13, "nranks": 4, "seed": 11, "per_rank_lines": 4, "padding": 3, "rejected": 1,
    }
    for rank in m["ranks"]:
        blob = (tmp_path / "out" / rank["file"]).read_bytes()
        assert rank["sha256"] == hashlib.sha256(blob).hexdigest() and rank["bytes"] == len(blob)
        assert set(rank) == {"rank", "file", "lines", "real", "padding", "sha256", "bytes"}
    assert [s["file"] for s in m["sources"]] == ["part-00000", "part-00001"]
    for s in m["sources"]:
        blob = (data / s["file"]).read_bytes()
        assert s == {"file": s["file"], "lines": blob.count(b"\n"), "bytes": len(blob),
                     "sha256": hashlib.sha256(blob).hexdigest()}


# --- validation and rejects -----------------------------------------------------------------------------


GOOD = base64.b64encode(b"fine image bytes")
BAD_LINES = {
    b"": "empty line",
    GOOD: "expected 2 tab-separated fields, found 1",
    GOOD + b"\t1\t2": "expected 2 tab-separated fields, found 3",
    GOOD + b"\tcat": "label is not an integer: 'cat'",
    GOOD + b"\t": "label is not an integer: ''",
    GOOD + b"\t3\r": "label is not an integer: '3\\r' (CRLF line endings?)",
    b"\t3": "empty image field",
    b"aGVsbG8*\t3": "invalid base64: byte '*' at column 8",
    b"aGVsbG8\t3": "invalid base64: length 7 is not a multiple of 4",
    b"aG=sbG8=\t3": "invalid base64: misplaced '=' padding",
    b"a===\t3": "invalid base64: misplaced '=' padding",
    "数据\t3".encode(): "invalid base64: byte 0xe6 at column 1",
    b"aGVs bG8=\t3": "invalid base64: byte 0x20 at column 5",
}


def test_bad_lines_are_rejected_with_file_line_and_reason_and_not_sharded(tmp_path):
    data = tmp_path / "data"
    good = [GOOD + b"\t0", base64.b64encode(b"ab") + b"\t-1", base64.b64encode(b"abc") + b"\t42"]
    bad = list(BAD_LINES)
    lines = [good[0]] + bad[:6] + [good[1]] + bad[6:] + [good[2]]
    write_part(data, "p0", lines)
    result = shard_dataset(data, nranks=2, out=tmp_path / "out")
    assert result.n == 3 and result.rejected == len(BAD_LINES)
    assert result.rejected_by_reason == {"empty": 1, "fields": 2, "label": 3, "base64": 7}
    rows = read_rejects(tmp_path / "out" / "rejects.tsv")
    # (reject files escape backslashes, tabs and newlines, so that every row stays one row)
    expected = [["p0", str(lines.index(b) + 1), reason.replace("\\", "\\\\")] for b, reason in BAD_LINES.items()]
    assert sorted(rows, key=lambda r: int(r[1])) == sorted(expected, key=lambda r: int(r[1]))
    assert read_manifest(tmp_path / "out")["rejected"] == len(BAD_LINES)
    assert sorted(line for rank in shard_lines(tmp_path / "out") for line in rank)[:3] == sorted(good)


def test_strict_makes_the_first_bad_line_an_error_naming_file_and_line(tmp_path):
    data = tmp_path / "data"
    write_part(data, "p0", [GOOD + b"\t1", GOOD + b"\t2", GOOD + b"\tx", b"junk"])
    offset = 2 * len(GOOD + b"\t1\n")
    with pytest.raises(InputError, match=rf"p0: line 3 \(byte {offset}\): label is not an integer: 'x'"):
        shard_dataset(data, nranks=2, out=tmp_path / "out", strict=True)
    assert not (tmp_path / "out").exists()


def test_check_images_decodes_every_image_with_pillow(tmp_path):
    data = tmp_path / "data"
    jpeg = jpeg_bytes()
    write_part(data, "p0", [
        base64.b64encode(jpeg) + b"\t1",
        base64.b64encode(b"valid base64, not an image") + b"\t2",
        base64.b64encode(jpeg[: len(jpeg) // 2]) + b"\t3",  # truncated JPEG
    ])
    assert shard_dataset(data, nranks=1, out=tmp_path / "plain").n == 3
    result = shard_dataset(data, nranks=1, out=tmp_path / "checked", check_images=True)
    assert result.n == 1 and result.rejected_by_reason == {"image": 2}
    rows = read_rejects(tmp_path / "checked" / "rejects.tsv")
    assert [(r[1], r[2].split(":")[0]) for r in rows] == [("2", "not an image Pillow can identify"), ("3", "corrupt image")]


def test_an_overlong_line_is_rejected_without_being_held_in_memory(tmp_path, monkeypatch):
    import prepsuite.shards.shard as shard_module

    monkeypatch.setattr(shard_module, "MAX_LINE_BYTES", 100)
    data = tmp_path / "data"
    write_part(data, "p0", [GOOD + b"\t1", b"A" * 5000 + b"\t2", GOOD + b"\t3"])
    result = shard_dataset(data, nranks=1, out=tmp_path / "out")
    assert result.n == 2 and result.rejected_by_reason == {"too-long": 1}
    assert read_rejects(tmp_path / "out" / "rejects.tsv") == [["p0", "2", "line longer than 100 bytes"]]
    assert verify_shards(tmp_path / "out", data).ok


# --- refusals ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("nranks", [0, -1])
def test_nranks_below_one_is_refused(tmp_path, nranks):
    make_dataset(tmp_path / "data", [3])
    with pytest.raises(ValueError, match="nranks must be an integer >= 1"):
        shard_dataset(tmp_path / "data", nranks=nranks, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_negative_seed_is_refused(tmp_path):
    make_dataset(tmp_path / "data", [3])
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        shard_dataset(tmp_path / "data", nranks=2, out=tmp_path / "out", seed=-5)


@pytest.mark.parametrize("content", [[b""], [b"", b""], [b"junk", b"\tjunk"]], ids=["empty-part", "empty-parts", "all-bad"])
def test_an_empty_dataset_is_refused(tmp_path, content):
    data = tmp_path / "data"
    names = [f"p{k}" for k in range(len(content))]
    data.mkdir()
    for name, body in zip(names, content):
        (data / name).write_bytes(body + (b"\n" if body else b""))
    (data / "file_list.txt").write_text("\n".join(names) + "\n")
    with pytest.raises(ValueError, match="empty dataset"):
        shard_dataset(data, nranks=2, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == [data]  # no temporary directory left either


def test_an_empty_file_list_is_refused(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "file_list.txt").write_text("\n")
    with pytest.raises(ValueError, match="empty dataset: .*names no part files"):
        shard_dataset(tmp_path / "data", nranks=2, out=tmp_path / "out")


@pytest.mark.parametrize("entry,message", [
    ("missing-part", r"file_list.txt: line 2: part file 'missing-part' not found"),
    ("/etc/passwd", r"file_list.txt: line 2: part file '/etc/passwd' is an absolute path"),
    ("../outside", r"file_list.txt: line 2: part file '../outside' escapes"),
    ("sub/../../outside", r"escapes"),
    ("sub", r"part file 'sub' is not a regular file"),
    ("part-00000", r"part file 'part-00000' is listed twice \(first on line 1\)"),
])
def test_bad_file_list_entries_are_refused(tmp_path, entry, message):
    data = tmp_path / "data"
    make_dataset(data, [3])
    (data / "sub").mkdir()
    (tmp_path / "outside").write_bytes(b"QUJD\t1\n")
    (data / "file_list.txt").write_text(f"part-00000\n{entry}\n")
    with pytest.raises(ValueError, match=message):
        shard_dataset(data, nranks=2, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_file_list_not_in_utf8_is_refused_naming_its_line_and_a_bom_is_not_a_name(tmp_path):
    data = tmp_path / "data"
    make_dataset(data, [3])
    (data / "file_list.txt").write_bytes(b"part-00000\nn\xe4me\n")
    with pytest.raises(ValueError, match=r"file_list.txt: line 2: not UTF-8 \(byte 2 of the line\)"):
        shard_dataset(data, nranks=2, out=tmp_path / "out")
    (data / "file_list.txt").write_bytes("\ufeffpart-00000\r\n".encode())
    shard_dataset(data, nranks=2, out=tmp_path / "out")
    assert [s["file"] for s in read_manifest(tmp_path / "out")["sources"]] == ["part-00000"]


def test_file_list_entries_may_name_subfolders(tmp_path):
    data = tmp_path / "data"
    lines = make_dataset(data, [3, 4], names=["a/p0", "b/c/p1"])
    assert shard_dataset(data, nranks=2, out=tmp_path / "out").n == 7
    assert read_manifest(tmp_path / "out")["sources"][1]["file"] == "b/c/p1"
    assert set(sum(shard_lines(tmp_path / "out"), [])) == set(lines)


def test_missing_data_dir_and_file_list_are_refused(tmp_path):
    with pytest.raises(ValueError, match="data directory not found"):
        shard_dataset(tmp_path / "nope", out=tmp_path / "out")
    (tmp_path / "data").mkdir()
    with pytest.raises(ValueError, match="file list not found"):
        shard_dataset(tmp_path / "data", file_list="list.txt", out=tmp_path / "out")


def test_an_existing_non_empty_out_is_refused_without_overwrite(tmp_path):
    make_dataset(tmp_path / "data", [5])
    out = tmp_path / "out"
    out.mkdir()
    shard_dataset(tmp_path / "data", nranks=2, out=out)  # an empty directory is fine
    before = tree_bytes(out)
    with pytest.raises(ValueError, match="exists and is not empty; pass --overwrite"):
        shard_dataset(tmp_path / "data", nranks=3, out=out)
    assert tree_bytes(out) == before
    shard_dataset(tmp_path / "data", nranks=3, out=out, overwrite=True)
    assert read_manifest(out)["nranks"] == 3
    assert not (out / "rank-00000-of-00002.b64").exists()  # replaced whole, not mixed


def test_overwrite_only_replaces_an_earlier_shard_output(tmp_path):
    make_dataset(tmp_path / "data", [5])
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(ValueError, match="holds no manifest.json"):
        shard_dataset(tmp_path / "data", nranks=2, out=precious, overwrite=True)
    assert (precious / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("where", ["data", "."])
def test_an_out_holding_the_input_is_refused(tmp_path, where):
    make_dataset(tmp_path / "data", [5])
    with pytest.raises(ValueError, match="output directory would contain"):
        shard_dataset(tmp_path / "data", nranks=2, out=tmp_path / where, overwrite=True)
    assert (tmp_path / "data" / "part-00000").exists()


# --- atomic output ----------------------------------------------------------------------------------------------


def test_an_interrupted_run_leaves_nothing_that_looks_finished(tmp_path, monkeypatch):
    import prepsuite.shards.shard as shard_module

    make_dataset(tmp_path / "data", [20])

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(shard_module, "_write_index", interrupted)
    with pytest.raises(KeyboardInterrupt):
        shard_dataset(tmp_path / "data", nranks=4, out=tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]

    monkeypatch.undo()
    shard_dataset(tmp_path / "data", nranks=4, out=tmp_path / "out")
    before = tree_bytes(tmp_path / "out")
    monkeypatch.setattr(shard_module, "_write_index", interrupted)
    with pytest.raises(KeyboardInterrupt):
        shard_dataset(tmp_path / "data", nranks=2, out=tmp_path / "out", overwrite=True)
    assert tree_bytes(tmp_path / "out") == before  # the earlier output is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out"]


def test_overwrite_swaps_the_output_in_one_step_so_a_reader_never_finds_it_missing(tmp_path, monkeypatch):
    import prepsuite.shards.layout as layout

    make_dataset(tmp_path / "data", [12])
    out = tmp_path / "out"
    shard_dataset(tmp_path / "data", nranks=4, out=out)
    moved = []
    real_replace = os.replace
    monkeypatch.setattr(layout.os, "replace", lambda a, b: (moved.append((Path(a), Path(b))), real_replace(a, b))[1])
    shard_dataset(tmp_path / "data", nranks=3, out=out, overwrite=True)
    assert read_manifest(out)["nranks"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out"]  # the old one is gone
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("a")
    b.write_text("b")
    if layout.exchange(a, b):  # the system can swap (Linux)
        assert (a.read_text(), b.read_text()) == ("b", "a")
        assert not [m for m in moved if m[0] == out]  # never moved away: swapped for the new one


def test_without_a_swap_a_failed_move_puts_the_earlier_output_back(tmp_path, monkeypatch):
    import prepsuite.shards.layout as layout

    make_dataset(tmp_path / "data", [12])
    out = tmp_path / "out"
    shard_dataset(tmp_path / "data", nranks=4, out=out)
    before = tree_bytes(out)
    monkeypatch.setattr(layout, "exchange", lambda a, b: False, raising=False)  # e.g. not Linux
    real_replace = os.replace

    def replace(a, b):
        if Path(b) == out and Path(a).name.startswith(".out.tmp-"):  # the new output moving in
            raise KeyboardInterrupt
        return real_replace(a, b)

    monkeypatch.setattr(layout.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        shard_dataset(tmp_path / "data", nranks=3, out=out, overwrite=True)
    assert tree_bytes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out"]
    monkeypatch.setattr(layout.os, "replace", real_replace)
    shard_dataset(tmp_path / "data", nranks=3, out=out, overwrite=True)  # the fallback's own path
    assert read_manifest(out)["nranks"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out"]


def test_output_files_are_readable_by_others(tmp_path):
    make_dataset(tmp_path / "data", [3])
    old = os.umask(0o022)
    try:
        shard_dataset(tmp_path / "data", nranks=1, out=tmp_path / "out")
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755
    assert {p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()} == {0o644}


# --- the command ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["pack", "shard", "verify"])
def test_the_commands_explain_themselves(prep, command):
    out = prep(command, "--help").output
    assert "Example:" in out and "--help" in out


def test_top_level_help_lists_the_shard_commands(prep):
    out = prep("--help").output
    for command in ("pack", "shard", "verify"):
        assert command in out


def test_prep_shard_prints_the_counts(prep, tmp_path):
    data = tmp_path / "data"
    make_dataset(data, [10, 9])
    (data / "part-00001").write_bytes((data / "part-00001").read_bytes() + b"oops\n")
    result = prep("shard", "--data-dir", data, "--file-list", "file_list.txt", "--nranks", "4",
                  "--out", tmp_path / "out", "--seed", "7")
    assert "19 lines from 2 part files, 1 rejected (fields: 1" in result.stderr
    assert "4 ranks x 5 lines, 1 padding" in result.stderr
    assert "seed 7" in result.stderr
    assert read_manifest(tmp_path / "out")["seed"] == 7


def test_prep_shard_refusals_are_one_clear_line(prep, tmp_path):
    make_dataset(tmp_path / "data", [8])
    result = prep("shard", "--data-dir", tmp_path / "data", "--nranks", "0", "--out", tmp_path / "out", ok=False)
    assert result.exit_code == 1
    assert "prep: error: nranks must be an integer >= 1, got 0" in result.stderr
    prep("shard", "--data-dir", tmp_path / "data", "--out", tmp_path / "out")
    result = prep("shard", "--data-dir", tmp_path / "data", "--out", tmp_path / "out", ok=False)
    assert result.exit_code == 1 and "pass --overwrite" in result.stderr
    prep("shard", "--data-dir", tmp_path / "data", "--out", tmp_path / "out", "--overwrite")


def test_prep_shard_strict(prep, tmp_path):
    write_part(tmp_path / "data", "p0", [GOOD + b"\t1", b"bad"])
    result = prep("shard", "--data-dir", tmp_path / "data", "--out", tmp_path / "out", "--strict", ok=False)
    assert result.exit_code == 1
    assert "p0: line 2 (byte 27): expected 2 tab-separated fields, found 1" in result.stderr


@pytest.mark.parametrize("block", [1, 2, 5, 17, 64, 1 << 20])
def test_lines_straddling_read_blocks_are_read_whole(tmp_path, monkeypatch, block):
    """The scan reads large blocks; any block size must give the same output, rejects included."""
    import prepsuite.shards.shard as shard_module

    data = tmp_path / "data"
    lines = make_dataset(data, [9, 4], newline_at_end=False)
    (data / "part-00001").write_bytes(
        (data / "part-00001").read_bytes() + b"\n" + b"Q" * 150 + b"\t1\n" + b"bad\n\n" + lines[0]
    )
    monkeypatch.setattr(shard_module, "MAX_LINE_BYTES", 120)
    reference = shard_dataset(data, nranks=3, out=tmp_path / "reference")
    assert reference.rejected_by_reason == {"empty": 1, "fields": 1, "too-long": 1}
    monkeypatch.setattr(shard_module, "_READ_BLOCK", block)
    result = shard_dataset(data, nranks=3, out=tmp_path / "out")
    assert result.n == reference.n == 14
    assert tree_bytes(tmp_path / "out") == tree_bytes(tmp_path / "reference")
    assert read_rejects(tmp_path / "out" / "rejects.tsv") == [
        ["part-00001", "5", "line longer than 120 bytes"],
        ["part-00001", "6", "expected 2 tab-separated fields, found 1"],
        ["part-00001", "7", "empty line"],
    ]


@pytest.mark.parametrize("change", ["truncate", "append"])
def test_a_part_changed_while_sharding_is_an_error_and_nothing_is_written(tmp_path, monkeypatch, change):
    import prepsuite.shards.shard as shard_module

    data = tmp_path / "data"
    make_dataset(data, [10, 10])
    real_order = shard_module.shuffled_order

    def order_then_change(*args):
        part = data / "part-00001"
        blob = part.read_bytes()
        part.write_bytes(blob[: len(blob) // 2] if change == "truncate" else blob + b"QUJD\t1\n")
        return real_order(*args)

    monkeypatch.setattr(shard_module, "shuffled_order", order_then_change)
    with pytest.raises(InputError, match="part-00001: changed while sharding"):
        shard_dataset(data, nranks=3, out=tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_more_parts_and_ranks_than_the_process_may_open_files(tmp_path):
    """ImageNet in parts of 1,000 lines has 1,282 parts, and a soft limit of 1,024 open files is
    common: parts are opened a few at a time, and ranks handed out a few ahead of the fsyncs."""
    import resource
    import subprocess
    import sys

    data = tmp_path / "data"
    make_dataset(data, [1, 2] * 150)  # 300 parts
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = 150 if hard == resource.RLIM_INFINITY else min(150, hard)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "prepsuite", *args], capture_output=True, text=True,
                              preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard)))

    for nranks in ("8", "400"):
        out = tmp_path / f"out-{nranks}"
        result = run("shard", "--data-dir", str(data), "--out", str(out), "--nranks", nranks, "--seed", "3")
        assert result.returncode == 0, result.stderr
        shard_dataset(data, nranks=int(nranks), out=tmp_path / f"unlimited-{nranks}", seed=3)
        assert tree_bytes(out) == tree_bytes(tmp_path / f"unlimited-{nranks}")
        result = run("verify", str(out), "--data-dir", str(data))
        assert result.returncode == 0, result.stdout + result.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind


def test_part_files_keep_at_most_their_limit_open(tmp_path):
    from prepsuite.shards.streams import PartFiles

    paths = []
    for k in range(5):
        paths.append(tmp_path / f"p{k}")
        paths[-1].write_bytes(bytes([65 + k]) * 4)
    with PartFiles(paths, limit=2) as parts:
        assert [parts.pread(k % 5, 2, 1) for k in range(12)] == [bytes([65 + k % 5]) * 2 for k in range(12)]
        assert len(parts._open) == 2
        parts.pread(4, 1, 0)  # 0 and 1 open: 0 was used least recently, and is closed
        parts.pread(1, 1, 0)
        assert list(parts._open) == [4, 1]
    assert not parts._open
