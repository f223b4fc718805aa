"""`snakemake -j2 corpus shards w2v && snakemake --report report.html`: a page a person reads,
whose figures are found by their captions, in the categories Corpus, Shards and Word vectors."""

from __future__ import annotations

import base64
import json
import re

import pytest

from conftest import snakemake, snakemake_workdir

pytestmark = pytest.mark.slow

W2V = "w2v={workers: 1, min_count: 1, analogies: [analogies.txt], similarity: [pairs.txt]}"

# caption's opening words → (category, figure)
FIGURES = {
    "Document lengths": ("Corpus", "lengths.png"),
    "Rejects by reason": ("Corpus", "rejects.png"),
    "Per-stage documents and characters in and out": ("Corpus", "stages.png"),
    "Per-stage throughput": ("Corpus", "throughput.png"),
    "Top tokens and the rank-frequency (Zipf) curve": ("Corpus", "tokens.png"),
    "Shard balance": ("Shards", "balance.png"),
    "Label histogram": ("Shards", "labels.png"),
    "word2vec training speed": ("Word vectors", "training.png"),
    "word2vec scores": ("Word vectors", "scores.png"),
}


def report_entries(html: str) -> dict:
    """The report's embedded results: path → name, caption (HTML), data URI, …"""
    found = re.search(r"var results = (\{.*?\});\n", html, re.S)
    assert found, "no results in the report"
    return json.loads(found.group(1))


def test_report_after_corpus_shards_and_w2v_shows_every_figure_by_caption(tmp_path):
    work = snakemake_workdir(tmp_path)
    (work / "analogies.txt").write_text(": capitals\n北京 中国 东京 日本\n: other\n中国 北京 猫 狗\n", encoding="utf-8")
    (work / "pairs.txt").write_text("北京\t上海\t8\n中国\t的\t1\n是\t在\t2\n", encoding="utf-8")
    snakemake(work, "-j2", "corpus", "shards", "w2v", "--config", W2V)
    snakemake(work, "--report", "report.html", "--config", W2V)

    html = (work / "report.html").read_text(encoding="utf-8")
    entries = report_entries(html)
    by_caption = {}
    for path, entry in entries.items():
        opening = re.match(r"<p><strong>(.*?)</strong>", entry["caption"])
        if opening:
            by_caption[opening.group(1)] = (path, entry)
    for caption, (category, name) in FIGURES.items():
        assert caption in by_caption, f"no figure captioned {caption!r} in the report"
        path, entry = by_caption[caption]
        assert entry["name"] == name and entry["mime_type"] == "image/png"
        png = base64.b64decode(entry["data_uri"].split("base64,", 1)[1])
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
        assert "<em>What to look for:</em>" in entry["caption"]  # what it shows, then what to look for
        assert (work / path).read_bytes() == png
    # categories are the sections of the page; the files the figures come from are there too
    for category in ("Corpus", "Shards", "Word vectors"):
        assert category in html
    for shown in ("results/corpus/stats.json", "results/corpus/rejects.tsv", "results/shards/verify.txt",
                  "results/w2v/train.json", "results/w2v/eval.json"):
        assert shown in entries

    # nothing left to do: the figures are part of the targets, and up to date
    again = snakemake(work, "-j2", "corpus", "shards", "w2v", "--config", W2V)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_plots_false_makes_the_targets_without_figures(tmp_path):
    work = snakemake_workdir(tmp_path)
    plan = snakemake(work, "-n", "corpus", "shards", "w2v", "--config", "plots=false")
    text = plan.stdout + plan.stderr
    assert "report_corpus" not in text and "report_shards" not in text and "report_w2v" not in text
    assert "corpus_gather" in text and "shards_verify" in text and "w2v_train" in text
    bad = snakemake(work, "-n", "corpus", "--config", "plots=maybe", check=False)
    assert bad.returncode != 0 and "plots: must be true or false, got 'maybe'" in bad.stdout + bad.stderr
