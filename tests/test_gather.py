"""The gather step: segmented chunks back into one corpus in dump order, nothing lost silently."""

import json

import pytest

from prepsuite.text.gather import gather_corpus
from prepsuite.textio import InputError


def write_jsonl(path, docs):
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")


def test_json_chunks_are_merged_on_page_id_whatever_their_order(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "title": "甲", "text": "一"}, {"id": 4, "title": "丁", "text": "四 \"引\""}])
    write_jsonl(tmp_path / "b.jsonl", [{"id": 2, "text": ""}, {"text": "三", "id": 3, "title": "丙"}])
    for order in (["a", "b"], ["b", "a"]):
        stats = gather_corpus([tmp_path / f"{n}.jsonl" for n in order], tmp_path / "corpus.txt")
        assert (tmp_path / "corpus.txt").read_text(encoding="utf-8") == '一\n三\n四 "引"\n'
        assert (stats.docs_in, stats.docs_out, dict(stats.rejected)) == (4, 3, {"empty_after_segmentation": 1})


def test_json_chunks_out_of_id_order_or_broken_are_named(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"id": 5, "text": "五"}, {"id": 3, "text": "三"}])
    with pytest.raises(InputError, match=r"a\.jsonl: line 2: page id 3 after 5"):
        gather_corpus([tmp_path / "a.jsonl"], tmp_path / "corpus.txt")
    (tmp_path / "b.jsonl").write_text('{"id": 1, "text": "一"}\n{"id": 2, "te\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"b\.jsonl: line 2: not a document line"):
        gather_corpus([tmp_path / "b.jsonl"], tmp_path / "corpus.txt")
    assert not (tmp_path / "corpus.txt").exists()


@pytest.mark.parametrize("line, problem", [
    ('{"id": 2.7, "text": "二"}', "not a document line"),
    ('{"id": true, "text": "二"}', "not a document line"),
    ('{"id": 2, "text": "二\\n三"}', "the text holds a line break"),
    ('{"id": 2, "text": "二\\r"}', "the text holds a line break"),
    ('{"id": 2, "text": "二\\ud800"}', "the text holds '\\\\ud800', a lone surrogate"),
])
def test_json_chunks_that_cannot_be_corpus_lines_are_named(tmp_path, line, problem):
    (tmp_path / "a.jsonl").write_text('{"id": "1", "text": "一"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"a\.jsonl: line 2: {problem}"):
        gather_corpus([tmp_path / "a.jsonl"], tmp_path / "corpus.txt")
    assert not (tmp_path / "corpus.txt").exists()


def test_gather_of_text_chunks_drops_empty_lines_and_names_bad_bytes(tmp_path):
    (tmp_path / "a.txt").write_bytes("一 二\n\n三\n".encode())
    (tmp_path / "b.txt").write_bytes("四 五".encode())  # no final newline
    stats = gather_corpus([tmp_path / "a.txt", tmp_path / "b.txt"], tmp_path / "corpus.txt")
    assert (tmp_path / "corpus.txt").read_text(encoding="utf-8") == "一 二\n三\n四 五\n"
    assert (stats.docs_in, stats.docs_out, dict(stats.rejected)) == (4, 3, {"empty_after_segmentation": 1})
    assert stats.bytes_out == len("一 二三四 五".encode())
    (tmp_path / "b.txt").write_bytes(b"ok\n\xff\xfe\n")
    with pytest.raises(InputError, match=r"b\.txt: line 2: invalid UTF-8"):
        gather_corpus([tmp_path / "a.txt", tmp_path / "b.txt"], tmp_path / "corpus2.txt")
    assert not (tmp_path / "corpus2.txt").exists()


def test_a_broken_stats_file_is_named_and_no_stats_json_appears(tmp_path):
    (tmp_path / "c.txt").write_text("一\n", encoding="utf-8")
    (tmp_path / "1-of-2.json").write_text('{"stage": "clean", "docs_in": 1}', encoding="utf-8")
    (tmp_path / "2-of-2.json").write_text('{"stage": "clean", "docs_in"', encoding="utf-8")
    with pytest.raises(InputError, match=r"2-of-2\.json: not a stats file"):
        gather_corpus([tmp_path / "c.txt"], tmp_path / "corpus.txt",
                      [tmp_path / "1-of-2.json", tmp_path / "2-of-2.json"], tmp_path / "stats.json")
    with pytest.raises(InputError, match=r"3-of-2\.json: stats file not found"):
        gather_corpus([tmp_path / "c.txt"], tmp_path / "corpus.txt", [tmp_path / "3-of-2.json"],
                      tmp_path / "stats.json")
    assert not (tmp_path / "stats.json").exists()


def test_outputs_get_the_mode_the_umask_allows(tmp_path):
    import os

    from prepsuite.textio import current_umask

    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        (tmp_path / "c.txt").write_text("一\n", encoding="utf-8")
        gather_corpus([tmp_path / "c.txt"], tmp_path / "corpus.txt")
    finally:
        os.umask(old)
    assert (tmp_path / "corpus.txt").stat().st_mode & 0o777 == 0o640


def test_text_chunks_read_in_blocks_give_what_line_by_line_reading_gives(tmp_path, monkeypatch):
    """Chunks are copied a block of whole lines at a time; with blocks of a few bytes (lines cut
    across blocks, blocks with and without empty lines) the corpus, the counts and the line
    named for bad bytes are those of reading line by line."""
    import random

    import prepsuite.text.gather as gather

    rng = random.Random(7)
    words = ["一", "二 三", "四五", "abc", "六 七 八 九", ""]
    chunks = []
    for k in range(1, 4):
        lines = [rng.choice(words) for _ in range(rng.randint(0, 40))]
        text = "\n".join(lines) + ("\n" if k != 2 and lines else "")
        path = tmp_path / f"chunk-{k}-of-3.txt"
        path.write_text(text, encoding="utf-8")
        chunks.append((path, text))
    kept = [line for _, text in chunks for line in text.splitlines() if line]
    every = sum(len(text.splitlines()) for _, text in chunks)
    whole = gather_corpus([p for p, _ in chunks], tmp_path / "whole.txt")
    for block in (1, 2, 5, 7, 64):
        monkeypatch.setattr(gather, "_BLOCK", block)
        stats = gather_corpus([p for p, _ in chunks], tmp_path / "corpus.txt")
        assert (tmp_path / "corpus.txt").read_text(encoding="utf-8") == "".join(f"{line}\n" for line in kept)
        assert (stats.docs_in, stats.docs_out) == (every, len(kept))
        assert stats.rejected["empty_after_segmentation"] == every - len(kept)
        assert (stats.chars_out, stats.bytes_out) == (sum(map(len, kept)), len("".join(kept).encode()))
        assert (stats.chars_in, stats.bytes_in, stats.docs_out) == (whole.chars_in, whole.bytes_in, whole.docs_out)
    (tmp_path / "bad.txt").write_bytes("一\n二 三\n四五\n".encode() * 3 + b"ok \xe4\xb8\n")
    for block in (4, 9, 1 << 20):
        monkeypatch.setattr(gather, "_BLOCK", block)
        with pytest.raises(InputError, match=r"bad\.txt: line 10: invalid UTF-8"):
            gather_corpus([tmp_path / "bad.txt"], tmp_path / "corpus2.txt")
    assert not (tmp_path / "corpus2.txt").exists()


def test_the_chunks_rejects_become_one_file_and_a_stranger_is_named(tmp_path):
    header = "source\tline\tid\ttitle\treason\n"
    (tmp_path / "1.tsv").write_text(header + "d.xml.bz2\t\t7\t甲\tempty_after_cleaning\n", encoding="utf-8")
    (tmp_path / "2.tsv").write_text(header, encoding="utf-8")
    (tmp_path / "3.tsv").write_text(header + "d.xml.bz2\t\t90\t乙\tempty_after_cleaning", encoding="utf-8")
    (tmp_path / "c.txt").write_text("一\n", encoding="utf-8")
    gather_corpus([tmp_path / "c.txt"], tmp_path / "corpus.txt",
                  rejects_files=[tmp_path / f"{k}.tsv" for k in (1, 2, 3)], rejects_output=tmp_path / "rejects.tsv")
    assert (tmp_path / "rejects.tsv").read_text(encoding="utf-8") == (
        header + "d.xml.bz2\t\t7\t甲\tempty_after_cleaning\nd.xml.bz2\t\t90\t乙\tempty_after_cleaning\n")
    (tmp_path / "2.tsv").write_text("一\n", encoding="utf-8")  # a chunk, not its rejects
    with pytest.raises(InputError, match=r"2.tsv: line 1: not a rejects file"):
        gather_corpus([tmp_path / "c.txt"], tmp_path / "corpus2.txt",
                      rejects_files=[tmp_path / f"{k}.tsv" for k in (1, 2, 3)], rejects_output=tmp_path / "r2.tsv")
    assert not (tmp_path / "r2.tsv").exists() and not (tmp_path / "corpus2.txt").exists()
