"""`prep inspect`: a look at shards and corpora without SQL, as a user types it (piped: TSV)."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from prepsuite.shards import pack_images, shard_dataset


def rows(output: str) -> list[list[str]]:
    return [line.split("\t") for line in output.splitlines()]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """11 small images of two formats and sizes, labels 0..10, sharded for 4 ranks (1 padding)."""
    work = tmp_path_factory.mktemp("inspect")
    images = work / "images"
    images.mkdir()
    listing = []
    for i in range(11):
        fmt, ext = ("PNG", "png") if i % 2 else ("JPEG", "jpg")
        Image.new("RGB", (20 + i, 10 + i), (i * 20, 0, 0)).save(images / f"img{i}.{ext}", fmt)
        listing.append(f"img{i}.{ext} {i}\n")
    (work / "labels.txt").write_text("".join(listing))
    pack_images(images, work / "labels.txt", work / "packed", part_lines=4)
    shard_dataset(work / "packed", nranks=4, out=work / "shards", seed=3)
    return work / "shards"


def test_manifest_as_a_table_one_row_per_rank(prep, shards):
    table = rows(prep("inspect", shards).stdout)
    assert table[0] == ["rank", "file", "lines", "real", "padding", "bytes", "seed", "sha256"]
    manifest = json.loads((shards / "manifest.json").read_text())
    assert [r[0] for r in table[1:]] == ["0", "1", "2", "3"]
    for row, rank in zip(table[1:], manifest["ranks"]):
        assert row[1] == rank["file"] and int(row[2]) == 3 and int(row[5]) == rank["bytes"]
        assert row[6] == "3"
    assert sum(int(r[3]) for r in table[1:]) == 11 and sum(int(r[4]) for r in table[1:]) == 1


def test_rank_lines_name_their_source_label_and_image(prep, shards, tmp_path):
    table = rows(prep("inspect", shards, "--rank", "3", "--head", "5", "--save", tmp_path / "peek").stdout)
    assert table[0] == ["position", "source_file", "source_line", "label", "padding", "format", "size",
                        "bytes", "saved"]
    assert len(table) == 1 + 3  # a rank has 3 lines; --head 5 shows them all
    for position, source, line, label, padding, fmt, size, nbytes, saved in table[1:]:
        i = int(label)
        # the label says which image it is: format and size from the decoded header match it
        assert fmt == ("PNG" if i % 2 else "JPEG") and size == f"{20 + i}x{10 + i}"
        assert source.startswith("part-") and int(line) >= 1 and padding in ("yes", "no")
        data = (tmp_path / "peek" / saved).read_bytes()
        assert len(data) == int(nbytes) and Image.open(io.BytesIO(data)).size == (20 + i, 10 + i)
    assert [r[4] for r in table[1:]].count("yes") == 1  # rank 3 holds the one padding repeat


def test_head_limits_and_bad_rank_is_one_line(prep, shards):
    assert len(rows(prep("inspect", shards, "--rank", "0", "--head", "2").stdout)) == 3
    bad = prep("inspect", shards, "--rank", "4", ok=False)
    assert bad.exit_code == 1 and "ranks 0 to 3" in bad.output and "Traceback" not in bad.output


def test_not_a_shard_directory(prep, tmp_path):
    result = prep("inspect", tmp_path, ok=False)
    assert result.exit_code == 1 and "no manifest.json" in result.output


def test_corpus_counts_percentiles_and_top_tokens(prep, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("的 猫 是 黑 的\n的 狗\n\n猫 的 猫\n", encoding="utf-8")
    out = prep("inspect", corpus, "--top", "2", "--json", tmp_path / "profile.json").stdout
    stats, tokens = out.split("\n\n")
    table = {r[0]: r[1:] for r in rows(stats)}
    assert table["statistic"] == ["characters", "tokens"]
    assert table["documents"] == ["4", "4"] and table["empty"] == ["1", "1"]
    assert table["total"] == ["10", "10"] and table["distinct"] == ["", "5"]
    assert table["p0"] == ["0", "0"] and table["p100"] == ["5", "5"] and table["p50"] == ["3", "3"]
    assert rows(tokens) == [["rank", "token", "count", "share"], ["1", "的", "4", "40.00%"], ["2", "猫", "3", "30.00%"]]
    profile = json.loads((tmp_path / "profile.json").read_text(encoding="utf-8"))
    assert profile["documents"] == 4 and profile["vocabulary"] == 5
    assert profile["top_tokens"][:2] == [["的", 4], ["猫", 3]] and profile["rank_frequency"][0] == [1, 4]
    assert sum(profile["tokens"]["histogram"]["counts"]) == 3 and profile["tokens"]["histogram"]["zero"] == 1


def test_corpus_jsonl_reads_the_text_field(prep, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"id": 1, "text": "甲 乙 丙"}\n{"id": 2, "text": "甲"}\n', encoding="utf-8")
    table = {r[0]: r[1:] for r in rows(prep("inspect", corpus, "--top", "0").stdout)}
    assert table["documents"] == ["2", "2"] and table["total"] == ["4", "4"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "甲"}\nnot json\n', encoding="utf-8")
    result = prep("inspect", bad, ok=False)
    assert result.exit_code == 1 and "bad.jsonl: line 2" in result.output


def test_table_style_draws_a_rich_table(prep, shards):
    out = prep("inspect", shards, "--style", "table").stdout
    assert "rank-00003-of-" in out and "┃" in out and "\t" not in out
