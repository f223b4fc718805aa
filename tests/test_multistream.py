"""Multistream dumps: each chunk reads only its own bz2 streams, and the corpus is the same."""

import bz2
import json
import re
from pathlib import Path

import pytest

import prepsuite
from prepsuite.text.extract import chunk_paths, extract_dump, extract_chunk
from prepsuite.text.multistream import index_for, plan_chunks, read_stream_offsets
from prepsuite.text.sample import build_dump, build_multistream
from prepsuite.textio import InputError


def docs(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def multistream(tmp_path):
    return build_multistream(tmp_path / "zhwiki-test-pages-articles-multistream.xml.bz2",
                             repeat=3, pages_per_stream=7)


def test_bundled_pair_matches_the_generator(tmp_path):
    bundled = Path(prepsuite.sample_dump(multistream=True))
    dump, index = build_multistream(tmp_path / "x-multistream.xml.bz2", pages_per_stream=10)
    assert dump.read_bytes() == bundled.read_bytes()
    assert index.read_bytes() == index_for(bundled).read_bytes()


def test_multistream_is_a_valid_bz2_file_with_the_same_pages(multistream, tmp_path):
    dump, _ = multistream
    single = build_dump(tmp_path / "single.xml.bz2", repeat=3)
    assert bz2.decompress(dump.read_bytes()) == bz2.decompress(single.read_bytes())


def test_plan_covers_every_stream_once_in_order(multistream):
    dump, index = multistream
    offsets = read_stream_offsets(index)
    for chunks in (1, 2, 5, 40):
        plan = plan_chunks(dump, index, chunks)
        starts = [a for chunk in plan.chunks for a, _ in chunk]
        assert starts == offsets
        assert len(plan.chunks) == chunks
        assert plan.header == (0, offsets[0])


@pytest.mark.parametrize("chunks", [1, 3, 8])
def test_chunks_merge_into_the_single_stream_extraction(multistream, tmp_path, chunks):
    dump, index = multistream
    single = build_dump(tmp_path / "single.xml.bz2", repeat=3)
    extract_dump(single, chunk_paths(tmp_path / "s", 1), processes=1)
    merged = []
    for k in range(chunks):
        out = tmp_path / "m" / f"{k}.jsonl"
        extract_chunk(dump, index, k, chunks, out)
        part = docs(out)
        assert [d["id"] for d in part] == sorted(d["id"] for d in part)
        merged += part
    assert sorted(merged, key=lambda d: d["id"]) == docs(tmp_path / "s" / "chunk-000.jsonl")


def test_a_chunk_never_touches_other_chunks_streams(multistream, tmp_path):
    dump, index = multistream
    plan = plan_chunks(dump, index, 3)
    data = bytearray(dump.read_bytes())
    for start, end in plan.chunks[2]:  # wreck chunk 3's streams
        stop = end if end >= 0 else len(data) - 40
        data[start + 10: stop] = b"\0" * (stop - start - 10)
    dump.write_bytes(bytes(data))
    out = tmp_path / "c0.jsonl"
    assert extract_chunk(dump, index, 0, 3, out).docs_out > 0
    with pytest.raises(InputError, match=str(dump)):
        extract_chunk(dump, index, 2, 3, tmp_path / "c2.jsonl")
    assert not (tmp_path / "c2.jsonl").exists()


def test_bad_index_lines_are_named(tmp_path, multistream):
    dump, _ = multistream
    bad = tmp_path / "bad-index.txt.bz2"
    bad.write_bytes(bz2.compress(b"100:1:A\nnot an index line\n"))
    with pytest.raises(InputError, match=r"bad-index.txt.bz2: line 2: expected 'byte_offset:page_id:title'"):
        read_stream_offsets(bad)
    beyond = tmp_path / "beyond-index.txt.bz2"
    beyond.write_bytes(bz2.compress(b"99999999:1:A\n"))
    with pytest.raises(InputError, match="lies beyond the end"):
        plan_chunks(dump, beyond, 2)


@pytest.mark.parametrize("chunks", [1, 3])
def test_an_index_missing_its_last_streams_is_an_error_not_a_shorter_corpus(tmp_path, multistream, chunks):
    dump, index = multistream
    offsets = read_stream_offsets(index)
    lines = bz2.decompress(index.read_bytes()).decode().splitlines(keepends=True)
    short = tmp_path / "short-index.txt.bz2"
    short.write_bytes(bz2.compress("".join(l for l in lines if int(l.split(":")[0]) != offsets[-1]).encode()))
    for k in range(chunks - 1):  # the other chunks read only their own streams
        extract_chunk(dump, short, k, chunks, tmp_path / f"c{k}.jsonl")
    with pytest.raises(InputError, match=rf"{dump.name}: byte {offsets[-1]}: the dump goes on after the last "
                                         "stream its index lists, with pages the index does not list"):
        extract_chunk(dump, short, chunks - 1, chunks, tmp_path / "last.jsonl")
    assert not (tmp_path / "last.jsonl").exists()
    # the whole index: the last chunk reads up to the closing stream, which holds no page
    extract_chunk(dump, index, chunks - 1, chunks, tmp_path / "last.jsonl")


def test_a_plan_with_a_gap_between_its_ranges_is_corrupt(prep, multistream, tmp_path):
    dump, index = multistream
    plan = tmp_path / "streams.json"
    prep("plan", dump, "-o", plan, "--chunks", "2", "--index", index)
    record = json.loads(plan.read_text(encoding="utf-8"))
    del record["ranges"][0][1]  # one stream's pages would be left out
    plan.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(InputError, match="streams.json: corrupt stream plan"):
        plan_chunks(dump, plan, 2)


def test_index_offsets_one_per_stream_and_bad_lines_inside_a_stream_named(tmp_path):
    index = tmp_path / "x-index.txt.bz2"
    index.write_bytes(bz2.compress(b"100:1:A\n100:2:B:C\n1000:3:\n1000:4:D\n100:5:E\n2000:6:F"))
    assert read_stream_offsets(index) == [100, 1000, 2000]  # no final newline; 100 again: once
    for data, what in ((b"100:1:A\n100:x:B\n100:3:C\n", "line 2: expected"),
                       (b"100:1:A\n\n100:3:C\n", "empty lines"),
                       (b"100:1:A\n100:2:B\n\n", "empty lines"),
                       (b"", "lists no pages")):
        index.write_bytes(bz2.compress(data))
        with pytest.raises(InputError, match=what):
            read_stream_offsets(index)


def test_a_plan_read_once_gives_every_job_the_index_s_ranges(prep, multistream, tmp_path, monkeypatch):
    """The workflow reads the index once (`prep plan`); chunk jobs given the plan never open it
    and write the same chunks as jobs that read the index themselves."""
    dump, index = multistream
    plan = tmp_path / "streams.json"
    result = prep("plan", dump, "-o", plan, "--chunks", "3")
    assert "streams in 3 chunks" in result.output
    assert plan_chunks(dump, plan, 3) == plan_chunks(dump, index, 3)
    for k in (1, 2, 3):
        prep("process", dump, tmp_path / f"index-{k}.txt", "--chunk", k, "--chunks", "3", "--index", index)
    import prepsuite.text.multistream as ms

    def no_index(path):
        raise AssertionError(f"read the index {path}")

    monkeypatch.setattr(ms, "read_stream_offsets", no_index)
    for k in (1, 2, 3):
        prep("process", dump, tmp_path / f"plan-{k}.txt", "--chunk", k, "--chunks", "3", "--index", plan)
        assert (tmp_path / f"plan-{k}.txt").read_bytes() == (tmp_path / f"index-{k}.txt").read_bytes()
    extract_chunk(dump, plan, 1, 3, tmp_path / "x.jsonl")
    assert docs(tmp_path / "x.jsonl")


def test_a_stale_or_foreign_plan_is_refused_by_name(prep, multistream, tmp_path):
    dump, index = multistream
    plan = tmp_path / "streams.plan"  # any name: a plan is told from an index by its content
    prep("plan", dump, "-o", plan, "--chunks", "3", "--index", index)
    assert plan_chunks(dump, plan, 3) == plan_chunks(dump, index, 3)
    result = prep("process", dump, tmp_path / "o.txt", "--chunk", "1", "--chunks", "2", "--index", plan, ok=False)
    assert result.exit_code == 1 and "streams.plan: planned for 3 chunks, not 2" in result.output
    other, _ = build_multistream(tmp_path / "other-multistream.xml.bz2", repeat=1, pages_per_stream=7)
    with pytest.raises(InputError, match=r"streams.plan: planned for a dump of \d+ bytes, but .*other-multistream"):
        plan_chunks(other, plan, 3)
    # another dump of the very same size: its bytes where the streams start differ
    same_size = tmp_path / "same-size-multistream.xml.bz2"
    data = bytearray(dump.read_bytes())
    data[-100:-90] = bytes(10)
    same_size.write_bytes(bytes(data))
    with pytest.raises(InputError, match="streams.plan: planned for another dump than .*same-size"):
        plan_chunks(same_size, plan, 3)
    record = json.loads(plan.read_text(encoding="utf-8"))
    record["ranges"][1][0][0] = dump.stat().st_size + 5  # a range beyond the end of the dump
    plan.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(InputError, match="streams.plan: corrupt stream plan"):
        plan_chunks(dump, plan, 3)
    for text in ("{}", "{not json", '{"format": "prepsuite stream plan", "chunks": 3}'):
        plan.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match="streams.plan: not a stream plan"):
            plan_chunks(dump, plan, 3)
    with pytest.raises(InputError, match="stream plan not found"):
        plan_chunks(dump, tmp_path / "missing.json", 3)
    assert not (tmp_path / "o.txt").exists()
    result = prep("plan", tmp_path / "nope-multistream.xml.bz2", "-o", plan, ok=False)
    assert result.exit_code == 1 and "nope-multistream.xml.bz2: dump not found" in result.output
    result = prep("plan", dump, "-o", tmp_path / "again.json", "--index", tmp_path / "streams.plan", ok=False)
    assert result.exit_code == 1 and "is already a stream plan" in result.output


def test_cli_extracts_one_chunk_with_the_index_found_beside_the_dump(prep, multistream, tmp_path):
    dump, _ = multistream
    prep("extract", dump, tmp_path / "out", "--chunks", "4", "--chunk", "2",
         "--name-template", "chunk-{number}-of-{total}.jsonl")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["chunk-2-of-4.jsonl"]
    result = prep("extract", dump, tmp_path / "out", "--chunks", "4", "--chunk", "5", ok=False)
    assert "--chunk 5 is beyond --chunks 4" in result.output


def test_a_whole_extraction_that_fails_late_leaves_no_chunk_and_keeps_the_last_good_ones(prep, multistream, tmp_path):
    dump, _ = multistream
    out = tmp_path / "out"
    prep("extract", dump, out, "--chunks", "3", "--engine", "fast")
    good = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(good) == ["chunk-000.jsonl", "chunk-001.jsonl", "chunk-002.jsonl"]
    plan = plan_chunks(dump, index_for(dump), 3)
    data = bytearray(dump.read_bytes())
    start, end = plan.chunks[2][0]  # the last chunk's first stream: chunks 1 and 2 extract fine
    data[start + 10: end] = b"\0" * (end - start - 10)
    dump.write_bytes(bytes(data))

    result = prep("extract", dump, out, "--chunks", "3", "--engine", "fast", ok=False)
    assert re.search(rf"{re.escape(str(dump))}: byte \d+: cannot decompress", result.output)
    # the run before stays whole: no chunk of this run replaced one of it, nothing staged is left
    assert {p.name: p.read_bytes() for p in out.iterdir()} == good
    result = prep("extract", dump, tmp_path / "new", "--chunks", "3", "--engine", "fast", ok=False)
    assert not (tmp_path / "new").exists() or not list((tmp_path / "new").iterdir())


@pytest.mark.parametrize("engine", ["fast", "wikiextractor"])
def test_one_job_from_streams_to_segmented_text_equals_extract_then_process(prep, multistream, tmp_path, engine):
    """`prep process DUMP --chunk K` is `prep extract --chunk K` then `prep process`, byte for byte."""
    dump, _ = multistream
    for k in (1, 2, 3):
        prep("extract", dump, tmp_path / "ex", "--chunks", "3", "--chunk", k, "--engine", engine,
             "--name-template", "chunk-{number}.jsonl")
        prep("process", tmp_path / "ex" / f"chunk-{k}.jsonl", tmp_path / f"two-{k}.jsonl",
             "--rejects", tmp_path / f"two-{k}.tsv")
        prep("process", dump, tmp_path / f"one-{k}.jsonl", "--chunk", k, "--chunks", "3",
             "--extract-engine", engine, "--rejects", tmp_path / f"one-{k}.tsv",
             "--stats", tmp_path / f"one-{k}.json")
        assert (tmp_path / f"one-{k}.jsonl").read_bytes() == (tmp_path / f"two-{k}.jsonl").read_bytes()
        stages = json.loads((tmp_path / f"one-{k}.json").read_text())
        assert [s["stage"] for s in stages] == ["extract", "clean", "convert", "segment"]
        extract, clean = stages[0], stages[1]
        assert extract["docs_out"] == clean["docs_in"] == len(docs(tmp_path / "ex" / f"chunk-{k}.jsonl"))
        assert extract["counters"][f"engine_{engine}"] == 1 and extract["bytes_in"] > 0
        # the same documents rejected, named by page id and title in their own columns, with
        # the line of the extracted file where there is one
        two = [row.split("\t") for row in (tmp_path / f"two-{k}.tsv").read_text().splitlines()[1:]]
        one = [row.split("\t") for row in (tmp_path / f"one-{k}.tsv").read_text().splitlines()[1:]]
        extracted = docs(tmp_path / "ex" / f"chunk-{k}.jsonl")
        named = [[str(extracted[int(row[1]) - 1]["id"]), extracted[int(row[1]) - 1]["title"]] for row in two]
        assert [row[2:4] for row in two] == named
        assert [row[2:4] for row in one] == named
        assert all(row[:2] == [str(dump), ""] for row in one)


def test_extract_and_process_default_to_the_workflow_extractor(prep, multistream, tmp_path):
    """Without --engine / --extract-engine both commands use the config's default, wikiextractor."""
    dump, _ = multistream
    prep("extract", dump, tmp_path / "ex", "--chunks", "3", "--chunk", "1", "--stats", tmp_path / "e.json")
    prep("process", dump, tmp_path / "one.txt", "--chunk", "1", "--chunks", "3", "--stats", tmp_path / "p.json")
    for stats in ("e.json", "p.json"):
        stages = json.loads((tmp_path / stats).read_text())
        extract = stages[0] if isinstance(stages, list) else stages
        assert extract["counters"]["engine_wikiextractor"] == 1, stats


def test_text_chunks_concatenated_are_the_merged_json_chunks(prep, multistream, tmp_path):
    """The workflow's multistream chunks: plain text, one document per line, which the gather
    concatenates; the same corpus as JSON-lines chunks merged on page id."""
    dump, _ = multistream
    for k in (1, 2, 3):
        prep("process", dump, tmp_path / f"c-{k}-of-3.jsonl", "--chunk", k, "--chunks", "3")
        prep("process", dump, tmp_path / f"c-{k}-of-3.txt", "--chunk", k, "--chunks", "3",
             "--rejects", tmp_path / f"r-{k}-of-3.tsv")
        assert (tmp_path / f"c-{k}-of-3.txt").read_text(encoding="utf-8").splitlines() == [
            d["text"] for d in docs(tmp_path / f"c-{k}-of-3.jsonl")]
    prep("gather", *(tmp_path / f"c-{k}-of-3.jsonl" for k in (3, 1, 2)), "-o", tmp_path / "merged.txt")
    rejects = [a for k in (1, 2, 3) for a in ("--rejects-file", tmp_path / f"r-{k}-of-3.tsv")]
    prep("gather", *(tmp_path / f"c-{k}-of-3.txt" for k in (1, 2, 3)), "-o", tmp_path / "joined.txt",
         *rejects, "--rejects-output", tmp_path / "rejects.tsv")
    assert (tmp_path / "joined.txt").read_bytes() == (tmp_path / "merged.txt").read_bytes()
    rows = [line for k in (1, 2, 3) for line in (tmp_path / f"r-{k}-of-3.tsv").read_text().splitlines()[1:]]
    assert (tmp_path / "rejects.tsv").read_text().splitlines() == ["source\tline\tid\ttitle\treason"] + rows and rows
    result = prep("gather", tmp_path / "c-1-of-3.txt", "-o", tmp_path / "bad.txt", *rejects[:2], ok=False)
    assert "--rejects-file needs --rejects-output" in result.output
    # concatenation follows the order given: K-of-N names out of order are refused
    for ks in ((1, 3, 2), (1, 3), (1, 2, 3, 3)):
        result = prep("gather", *(tmp_path / f"c-{k}-of-3.txt" for k in ks), "-o", tmp_path / "bad.txt", ok=False)
        assert result.exit_code == 1 and "1-of-N, 2-of-N, … N-of-N, once each" in result.output
    (tmp_path / "c-1-of-2.txt").write_text("旧\n", encoding="utf-8")  # left from a run with 2 chunks
    result = prep("gather", tmp_path / "c-1-of-2.txt", *(tmp_path / f"c-{k}-of-3.txt" for k in (1, 2, 3)),
                  "-o", tmp_path / "bad.txt", ok=False)
    assert result.exit_code == 1 and "got 1-of-2, 1-of-3" in result.output
    result = prep("gather", tmp_path / "c-1-of-3.txt", tmp_path / "c-2-of-3.jsonl", "-o", tmp_path / "bad.txt", ok=False)
    assert result.exit_code == 1 and "all JSON lines (.jsonl) or all plain text" in result.output
    assert not (tmp_path / "bad.txt").exists()


def test_one_job_from_streams_refuses_what_it_cannot_do(prep, multistream, tmp_path):
    dump, _ = multistream
    plain = build_dump(tmp_path / "plain.xml")  # not bz2: no streams or blocks to cut at
    result = prep("process", plain, tmp_path / "o.jsonl", "--chunk", "1", "--chunks", "2", ok=False)
    assert result.exit_code == 1 and "chunks are read from a .bz2 dump only" in result.output
    result = prep("process", dump, tmp_path / "o.jsonl", "--chunk", "3", "--chunks", "2", ok=False)
    assert result.exit_code == 1 and "--chunk 3 is beyond --chunks 2" in result.output
    result = prep("process", dump, tmp_path / "o.jsonl", "--chunk", "1", "--chunks", "2",
                  "--extract-engine", "gensim", ok=False)
    assert result.exit_code == 1 and "gensim reads the whole dump itself, never one chunk" in result.output
    assert not (tmp_path / "o.jsonl").exists()


def test_progress_counts_the_compressed_bytes_of_the_chunk(multistream):
    from prepsuite.stats import StageStats
    from prepsuite.text.extract import chunk_docs
    from prepsuite.text.multistream import chunk_sizes

    dump, index = multistream
    sizes = chunk_sizes(dump, index, 3)
    assert sum(sizes) < dump.stat().st_size  # the header stream belongs to no chunk
    for k in range(3):
        seen: list[int] = []
        docs = list(chunk_docs(dump, index, k, 3, StageStats("extract"), 1, "fast", seen.append))
        assert docs and len(seen) >= len(docs)
        assert seen == sorted(seen) and 0 < seen[-1] <= sizes[k]
    with pytest.raises(InputError, match="dump not found"):
        chunk_sizes(dump.with_name("missing-multistream.xml.bz2"), index, 3)


def test_a_malformed_page_is_named_by_its_bz2_stream_and_line_there(multistream, tmp_path):
    """The chunk job parses a document of its own (header, its streams, a closing tag); the error
    names the stream of the dump the bad line came from, by the byte offset any bz2 tool can
    decompress it from, and the line and column in that stream's text."""
    dump, index = multistream
    data = dump.read_bytes()
    offsets = read_stream_offsets(index)
    bounds = [0] + offsets + [data.rindex(b"BZh")]  # header stream, page streams, closing stream
    streams = [bz2.decompress(data[a:b]) for a, b in zip(bounds, bounds[1:])] + [bz2.decompress(data[bounds[-1]:])]
    bad = len(offsets) - 2  # a page stream near the end: in the second of two chunks
    streams[bad] = streams[bad].replace(b"</revision>", b"</revisio>", 1)
    damaged = tmp_path / "damaged-multistream.xml.bz2"
    new_offsets, out = [], b""
    for k, text in enumerate(streams):
        if 1 <= k <= len(offsets):
            new_offsets.append(len(out))
        out += bz2.compress(text)
    damaged.write_bytes(out)
    lines = bz2.decompress(index.read_bytes()).decode("utf-8").splitlines()
    moved = dict(zip(offsets, new_offsets))
    index_path = tmp_path / "damaged-multistream-index.txt.bz2"
    index_path.write_bytes(bz2.compress("".join(
        f"{moved[int(line.split(':', 1)[0])]}:{line.split(':', 1)[1]}\n" for line in lines).encode("utf-8")))
    at = streams[bad].index(b"</revisio>") + 2  # where the parser points: the closing tag's name
    line = streams[bad].count(b"\n", 0, at) + 1
    column = at - streams[bad].rfind(b"\n", 0, at)
    plan = plan_chunks(damaged, index_path, 2)
    assert new_offsets[bad - 1] in [a for a, _ in plan.chunks[1]]  # the second chunk's
    extract_chunk(damaged, index_path, 0, 2, tmp_path / "c0.jsonl")  # the first chunk is sound
    with pytest.raises(InputError) as caught:
        extract_chunk(damaged, index_path, 1, 2, tmp_path / "c1.jsonl")
    message = str(caught.value)
    assert message.startswith(f"{damaged}: bz2 stream at byte {new_offsets[bad - 1]}, line {line}, "
                              f"column {column}: malformed XML in the page titled "), message
    assert "mismatched tag" in message and not (tmp_path / "c1.jsonl").exists()
