"""`snakemake -j8 corpus` from a fresh copy of the workflow, as the README promises."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, snakemake, snakemake_workdir
import prepsuite
from prepsuite.text.chunks import auto_chunks
from prepsuite.text.convert import convert_text
from prepsuite.text.sample import article_count, build_dump

pytestmark = pytest.mark.slow

# The config's `chunks: auto` on the sample: the dump is tiny (7 kB), so one chunk.
AUTO = auto_chunks(prepsuite.sample_dump())
MARKUP = ["[[", "]]", "{{", "}}", "'''", "<ref", "-{", "}-", "<doc", "</doc"]
EMPTY_BRACKETS = ["()", "（）", "( )", "（ ）", "（，）", "《》", "「」", "『』"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The corpus of `snakemake -j8 corpus` on the bundled sample."""
    work = snakemake_workdir(tmp_path_factory.mktemp("reference"))
    snakemake(work, "-j8", "corpus")
    return work / "results" / "corpus"


def test_one_line_per_article_of_the_sample(reference):
    lines = (reference / "corpus.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == article_count()
    assert all(line.strip() for line in lines)
    assert lines[0].startswith("北京市 ， 简称 “ 京 ” ， 是 中华人民共和国 的 首都")


def test_corpus_is_clean_simplified_and_segmented(reference):
    text = (reference / "corpus.txt").read_text(encoding="utf-8")
    for marker in MARKUP + EMPTY_BRACKETS:
        assert marker not in text, marker
    # converted phrase by phrase before segmenting, and a name the phrase table decided stays
    # one token (畢昇 → 毕昇, never 毕升 or 毕 昇)
    assert "北宋 毕昇 发明" in text and "专著" in text
    # Not a fixed point of t2s, and not meant to be: OpenCC keeps 昇 and 著 only inside the
    # traditional phrases 畢昇 and 專著, so converting the corpus again would damage them
    again = convert_text(text, "t2s")
    assert len(again) == len(text)
    assert {(a, b) for a, b in zip(text, again) if a != b} == {("昇", "升"), ("著", "着")}
    for line in text.splitlines():
        assert "  " not in line and line == line.strip()
    # conversion markup resolved, not deleted: the words survive
    assert "出租车" in text and "计算机" in text and "软件" in text and "世界遗产" in text
    assert "诗人" in text  # kept from the prose, the -{H|…}- rule itself dropped


def test_stats_cover_every_stage(reference):
    stats = json.loads((reference / "stats.json").read_text(encoding="utf-8"))
    stages = {s["stage"]: s for s in stats["stages"]}
    assert [s["stage"] for s in stats["stages"]] == ["extract", "clean", "convert", "segment", "gather"]
    assert stages["extract"]["counters"]["skipped_redirect"] == 5
    assert stages["clean"]["rejected"] == {"empty_after_cleaning": 1}
    assert stages["segment"]["docs_out"] == article_count()
    for stage in stages.values():
        assert {"docs_in", "docs_out", "chars_in", "chars_out", "rejected", "seconds", "mb_per_s"} <= set(stage)
    assert stats["config"]["convert"] == {"config": "t2s", "engine": "pyo3"}
    assert stats["config"]["segment"]["engine"] == "rjieba"
    assert stats["config"]["chunks"] == AUTO == 1  # auto, resolved and recorded
    assert stages["convert"]["counters"]["engine_pyo3"] == AUTO  # one per chunk job
    assert stages["segment"]["counters"]["engine_rjieba"] == AUTO
    rejects = (reference / "rejects.tsv").read_text(encoding="utf-8").splitlines()
    assert rejects[0] == "source\tline\tid\ttitle\treason" and len(rejects) == 1 + 1
    assert rejects[1].endswith("\tempty_after_cleaning")
    source, line, page_id, title, _ = rejects[1].split("\t")
    assert source.endswith(".xml.bz2") and line == "" and page_id.isdigit() and title  # the page, named


def test_same_bytes_with_j1_and_with_another_chunk_count(reference, tmp_path):
    work = snakemake_workdir(tmp_path)
    snakemake(work, "-j1", "corpus")
    assert (work / "results/corpus/corpus.txt").read_bytes() == (reference / "corpus.txt").read_bytes()
    snakemake(work, "-j2", "corpus", "--config", "chunks=3", "--forceall")
    assert (work / "results/corpus/corpus.txt").read_bytes() == (reference / "corpus.txt").read_bytes()


def test_separate_stage_jobs_give_the_same_bytes_as_fused_ones(reference, tmp_path):
    work = snakemake_workdir(tmp_path)
    snakemake(work, "-j2", "corpus", "--config", "fuse_stages=false", "chunks=8")
    assert (work / "results/corpus/corpus.txt").read_bytes() == (reference / "corpus.txt").read_bytes()
    for stage in ("extract", "clean", "convert", "segment"):
        assert len(list((work / "results" / stage).glob("chunk-*.jsonl"))) == 8
    # the plan (where each chunk's bz2 blocks start), 8 extraction jobs, 3 x 8 stage jobs, the
    # gather; then the report's corpus profile and figures
    assert len(list((work / "results/logs").rglob("*.log"))) == 1 + 8 + 3 * 8 + 1 + 2
    assert len(list((work / "results/benchmarks").rglob("*.tsv"))) == 1 + 8 + 3 * 8 + 1 + 2


def test_interrupted_run_resumes_to_the_same_bytes(reference, tmp_path):
    work = snakemake_workdir(tmp_path)
    exe = Path(sys.executable).with_name("snakemake")
    # Ctrl-C as a user sends it; a shell that started the tests in the background (`cmd &`)
    # makes children ignore SIGINT, so the default disposition is restored for this one
    proc = subprocess.Popen([str(exe), "-j1", "corpus", "--config", "chunks=8"], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and not list((work / "results" / "segment").glob("chunk-*")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    assert not (work / "results/corpus/corpus.txt").exists()
    done = list((work / "results/segment").glob("chunk-*"))
    assert 0 < len(done) < 8, "the run should have been stopped partway"
    # whatever is there is complete: no temporary file is left looking like an output
    assert [p for p in (work / "results").rglob("*") if p.name.endswith(".tmp")] == []
    snakemake(work, "-j8", "corpus", "--config", "chunks=8")
    assert (work / "results/corpus/corpus.txt").read_bytes() == (reference / "corpus.txt").read_bytes()


def test_sigterm_while_jobs_are_being_picked_stops_the_run(tmp_path):
    """SIGTERM (kill; SLURM at a time limit) arriving while Snakemake picks the next jobs: with
    its ILP solver Snakemake held its scheduler lock then, and its SIGTERM handler waited for
    that lock forever (in 9 of 11 tries here). The profiles pick jobs greedily."""
    import yaml

    for profile in ("default", "slurm"):
        settings = yaml.safe_load((REPO / "profiles" / profile / "config.yaml").read_text())
        assert settings["scheduler"] == "greedy"
    work = snakemake_workdir(tmp_path)
    dump = build_dump(tmp_path / "d.xml.bz2", repeat=30)
    exe = Path(sys.executable).with_name("snakemake")
    log = tmp_path / "log.txt"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(exe), "-j2", "corpus", "--config", f"dump={dump}", "chunks=4"], cwd=work,
                                stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and log.read_text().count("Finished jobid") < 3:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("snakemake still running 60 s after SIGTERM:\n" + log.read_text()[-2000:])
    snakemake(work, "-j2", "corpus", "--config", f"dump={dump}", "chunks=4")  # resumes, no --unlock


def test_single_stream_dump_extracted_whole_gives_the_same_corpus(reference, tmp_path):
    """split_single_stream: false is the former way: one job decompresses the whole dump."""
    work = snakemake_workdir(tmp_path)
    snakemake(work, "-j2", "corpus", "--config", "split_single_stream=false", "chunks=3")
    assert (work / "results/corpus/corpus.txt").read_bytes() == (reference / "corpus.txt").read_bytes()
    assert (work / "results/stats/extract.json").exists() and not (work / "results/plan").exists()


def test_a_single_stream_dump_of_many_blocks_is_cut_at_them_with_the_same_corpus(tmp_path):
    """Each chunk job decompresses its own bz2 blocks; the corpus is the one of a single job
    reading the whole dump, whatever the chunk count and -j."""
    dump = build_dump(tmp_path / "blocks.xml.bz2", repeat=6, compresslevel=1)  # 3 blocks
    (tmp_path / "whole").mkdir()
    (tmp_path / "cut").mkdir()
    whole = snakemake_workdir(tmp_path / "whole")
    snakemake(whole, "-j2", "corpus", "--config", f"dump={dump}", "split_single_stream=false", "chunks=2")
    expected = (whole / "results/corpus/corpus.txt").read_bytes()
    assert len(expected.splitlines()) == 6 * article_count()
    work = snakemake_workdir(tmp_path / "cut")
    for jobs, chunks in (("-j2", 3), ("-j1", 2)):
        snakemake(work, jobs, "corpus", "--config", f"dump={dump}", f"chunks={chunks}")
        assert (work / "results/corpus/corpus.txt").read_bytes() == expected
        plan = json.loads((work / f"results/plan/blocks-of-{chunks}.json").read_text())
        assert plan["kind"] == "bz2 blocks" and len(plan["starts"]) == chunks
        for k in range(1, chunks + 1):  # every chunk had pages of its own
            stats = json.loads((work / f"results/stats/process/{k}-of-{chunks}.json").read_text())
            assert stats[0]["stage"] == "extract" and stats[0]["docs_out"] > 0


def test_unknown_opencc_config_fails_clearly(tmp_path):
    work = snakemake_workdir(tmp_path)
    proc = snakemake(work, "-j2", "corpus", "--config", 'convert={"config": "s2t"}', check=False)
    assert proc.returncode != 0
    assert "convert.config: unknown OpenCC config 's2t'" in proc.stderr
    assert not (work / "results").exists()  # refused before any job ran


@pytest.mark.parametrize("given", ["false", "no", "0", "False"])
def test_hmm_turned_off_on_the_command_line_reaches_the_jobs(tmp_path, given):
    # --config passes nested values as strings: "false" must not count as true
    work = snakemake_workdir(tmp_path)
    proc = snakemake(work, "-n", "-j2", "corpus", "--config", f'segment={{"hmm": {given}}}')
    assert "--no-hmm" in proc.stdout and " --hmm " not in proc.stdout
    proc = snakemake(work, "-n", "-j2", "corpus", "--config", 'segment={"hmm": maybe}', check=False)
    assert proc.returncode != 0 and "segment.hmm: must be true or false, got 'maybe'" in proc.stdout + proc.stderr


def test_missing_dump_fails_clearly(tmp_path):
    work = snakemake_workdir(tmp_path)
    proc = snakemake(work, "-j2", "corpus", "--config", "dump=zhwiki-nope.xml.bz2", check=False)
    assert proc.returncode != 0
    assert "zhwiki-nope.xml.bz2" in proc.stderr + proc.stdout


def test_multistream_dump_gives_the_same_corpus(reference, tmp_path):
    work = snakemake_workdir(tmp_path)
    dump = prepsuite.sample_dump(multistream=True)
    snakemake(work, "-j2", "corpus", "--config", f"dump={dump}", "chunks=8")
    assert (work / "results/corpus/corpus.txt").read_bytes() == (reference / "corpus.txt").read_bytes()
    # one job per chunk goes from its own bz2 streams to segmented text: no extracted chunk files
    per_chunk = sorted((work / "results/stats/process").glob("*.json"))
    assert len(per_chunk) == 8 and not (work / "results/extract").exists()
    # the index was read once, into the plan every chunk job read instead
    plan = json.loads((work / "results/plan/streams-of-8.json").read_text())
    assert plan["chunks"] == 8 and len(plan["ranges"]) == 8
    for path in per_chunk:
        assert [s["stage"] for s in json.loads(path.read_text())] == ["extract", "clean", "convert", "segment"]
    stats = json.loads((work / "results/corpus/stats.json").read_text())
    stages = {s["stage"]: s for s in stats["stages"]} if isinstance(stats["stages"], list) else stats["stages"]
    assert stages["extract"]["docs_out"] == stages["clean"]["docs_in"] == 48
    assert stages["extract"]["counters"]["engine_wikiextractor"] >= 1


def test_a_plan_made_beforehand_is_used_as_the_index(reference, tmp_path):
    work = snakemake_workdir(tmp_path)
    dump = prepsuite.sample_dump(multistream=True)
    subprocess.run([str(Path(sys.executable).with_name("prep")), "plan", dump, "-o", "my.plan", "--chunks", "3"],
                   cwd=work, check=True, capture_output=True)
    proc = snakemake(work, "-j2", "corpus", "--config", f"dump={dump}", "chunks=2", "index=my.plan", check=False)
    assert proc.returncode != 0 and "my.plan: planned for 3 chunks, not 2" in proc.stderr
    assert not (work / "results").exists()  # refused before any job ran
    snakemake(work, "-j2", "corpus", "--config", f"dump={dump}", "chunks=3", "index=my.plan")
    assert (work / "results/corpus/corpus.txt").read_bytes() == (reference / "corpus.txt").read_bytes()
    assert not (work / "results/plan").exists()
    # with `chunks: auto` (the default) the plan's own count is taken: nothing to redo
    proc = snakemake(work, "-n", "-j2", "corpus", "--config", f"dump={dump}", "index=my.plan")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_auto_chunks_are_refused_on_a_cluster_node(tmp_path):
    """A cluster job reads the workflow again on its node, which would count its own CPUs."""
    work = snakemake_workdir(tmp_path)
    proc = snakemake(work, "-n", "-j2", "corpus", "--mode", "remote", check=False)
    assert proc.returncode != 0 and "chunks: auto counts the CPUs" in proc.stdout + proc.stderr
    snakemake(work, "-n", "-j2", "corpus", "--mode", "remote", "--config", "chunks=4")


def test_a_damaged_chunk_stops_the_gather_with_its_name_and_line(tmp_path):
    """The gather runs inside Snakemake's process; its errors still reach the log and the run
    fails, leaving no corpus behind."""
    work = snakemake_workdir(tmp_path)
    dump = prepsuite.sample_dump(multistream=True)
    snakemake(work, "-j2", "corpus", "--config", f"dump={dump}", "chunks=3")
    chunk = work / "results/segment/chunk-2-of-3.txt"
    chunk.write_bytes(chunk.read_bytes() + "坏\n".encode("utf-8")[:2] + b"\n")
    proc = snakemake(work, "-j2", "corpus", "--config", f"dump={dump}", "chunks=3", check=False)
    assert proc.returncode != 0
    lines = len(chunk.read_bytes().splitlines())
    message = f"chunk-2-of-3.txt: line {lines}: invalid UTF-8"
    assert message in (work / "results/logs/corpus/corpus.log").read_text(encoding="utf-8")
    assert message in proc.stderr


def test_going_back_to_an_earlier_chunk_count_reuses_its_plan_and_chunks(tmp_path):
    work = snakemake_workdir(tmp_path)
    dump = prepsuite.sample_dump(multistream=True)
    snakemake(work, "-j2", "corpus", "--config", f"dump={dump}", "chunks=3")
    snakemake(work, "-j2", "corpus", "--config", f"dump={dump}", "chunks=2")
    assert sorted(p.name for p in (work / "results/plan").iterdir()) == ["streams-of-2.json", "streams-of-3.json"]
    # both runs' rejects files are kept; the run's own rejects are those stats.json counts
    assert len(list((work / "results/rejects/clean").glob("*.tsv"))) == 5
    stats = json.loads((work / "results/corpus/stats.json").read_text(encoding="utf-8"))
    rejected = sum(sum(s["rejected"].values()) for s in stats["stages"] if s["stage"] == "clean")
    rows = (work / "results/corpus/rejects.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert len(rows) == rejected == 1
    proc = snakemake(work, "-n", "-j2", "corpus", "--config", f"dump={dump}", "chunks=3")
    jobs = re.findall(r"^(?:local)?rule (\w+):", proc.stdout, re.M)
    # only the gather (its settings changed) and the report's figures drawn from it: no chunk job, no plan
    assert sorted(jobs) == ["corpus", "corpus_gather", "report_corpus", "report_corpus_profile"]


def test_multistream_dump_with_separate_jobs_gives_the_same_corpus(reference, tmp_path):
    work = snakemake_workdir(tmp_path)
    dump = prepsuite.sample_dump(multistream=True)
    snakemake(work, "-j2", "corpus", "--config", f"dump={dump}", "fuse_stages=false", "chunks=3")
    assert (work / "results/corpus/corpus.txt").read_bytes() == (reference / "corpus.txt").read_bytes()
    # one extraction job per chunk, each with its own stats
    assert len(list((work / "results/stats/extract").glob("*.json"))) == 3


def test_fast_extraction_engine_gives_the_same_corpus_on_the_sample(reference, tmp_path):
    work = snakemake_workdir(tmp_path)
    snakemake(work, "-j2", "corpus", "--config", 'extract={"engine": "fast"}')
    assert (work / "results/corpus/corpus.txt").read_bytes() == (reference / "corpus.txt").read_bytes()


def test_gensim_engine_reads_a_multistream_dump_whole_like_a_single_stream_one(tmp_path):
    """WikiCorpus reads the dump itself: one extraction job, its index unused."""
    corpora = []
    for dump in (prepsuite.sample_dump(), prepsuite.sample_dump(multistream=True)):
        (tmp_path / Path(dump).name).mkdir()
        work = snakemake_workdir(tmp_path / Path(dump).name)
        snakemake(work, "-j2", "corpus", "--config", f"dump={dump}", 'extract={"engine": "gensim"}', "chunks=2")
        assert [p.name for p in (work / "results/logs/extract").iterdir()] == ["extract.log"]
        corpora.append((work / "results/corpus/corpus.txt").read_bytes())
    assert corpora[0] == corpora[1] and corpora[0].count(b"\n") > 40


def test_the_run_ends_without_waiting_for_the_schedulers_timers():
    """Snakemake's rate limiter leaves a 1 s timer behind that the interpreter would wait for;
    the workflow's success and error handlers cancel it, and the timer never fires."""
    import threading

    from prepsuite.workflow import release_scheduler_timers

    fired = []
    timer = threading.Timer(60, lambda: fired.append(True))
    timer.start()
    assert release_scheduler_timers() >= 1
    timer.join(5)
    assert not timer.is_alive() and not fired
    handlers = (Path(__file__).parents[1] / "pipelines" / "common.smk").read_text()
    assert re.search(r"onsuccess:\n    release_scheduler_timers\(\)", handlers)
    assert re.search(r"onerror:\n    release_scheduler_timers\(\)", handlers)


def test_jsonl_corpus_names_every_document(reference, tmp_path):
    """corpus.format: jsonl also writes corpus.jsonl, {"id", "title", "text"} per document, in
    the corpus's order; corpus.txt stays the same bytes."""
    work = snakemake_workdir(tmp_path)
    snakemake(work, "-j2", "corpus", "--config", "corpus={format: jsonl}")
    corpus = work / "results/corpus"
    assert (corpus / "corpus.txt").read_bytes() == (reference / "corpus.txt").read_bytes()
    docs = [json.loads(line) for line in (corpus / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [d["text"] for d in docs] == (reference / "corpus.txt").read_text(encoding="utf-8").splitlines()
    assert all(set(d) == {"id", "title", "text"} and d["title"] for d in docs)
    assert [d["id"] for d in docs] == sorted(d["id"] for d in docs)
    assert docs[0]["title"] == "北京市"
    result = snakemake(work, "-j1", "corpus", "--config", "corpus={format: xml}", check=False)
    assert result.returncode != 0 and "format" in result.stderr
