"""The report's figures from small hand-made inputs: written, reproducible, errors in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prepsuite.report import plots
from prepsuite.report.profile import profile_corpus, write_profile

STATS = {"stages": [
    {"stage": "extract", "docs_in": 10, "docs_out": 8, "chars_in": 0, "chars_out": 900, "bytes_in": 5000,
     "seconds": 0.5, "rejected": {}, "counters": {"skipped_redirect": 2}},
    {"stage": "clean", "docs_in": 8, "docs_out": 7, "chars_in": 900, "chars_out": 800, "bytes_in": 2700,
     "seconds": 0.01, "rejected": {"too_short": 1}, "counters": {}},
    {"stage": "segment", "docs_in": 7, "docs_out": 7, "chars_in": 800, "chars_out": 1000, "bytes_in": 2400,
     "seconds": 0.1, "rejected": {}, "counters": {}},
]}


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "stats.json").write_text(json.dumps(STATS), encoding="utf-8")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"{'的 ' * (i + 1)}猫 {'x' * i}\n" for i in range(7)), encoding="utf-8")
    write_profile(profile_corpus(corpus), tmp_path / "profile.json")
    return tmp_path / "stats.json", tmp_path / "profile.json"


def test_corpus_figures_are_pngs_and_the_same_bytes_every_time(inputs, tmp_path):
    first = plots.corpus_plots(*inputs, tmp_path / "a")
    second = plots.corpus_plots(*inputs, tmp_path / "b")
    assert [p.name for p in first] == [f"{n}.png" for n in plots.CORPUS_PLOTS]
    for a, b in zip(first, second):
        assert a.read_bytes().startswith(b"\x89PNG") and a.read_bytes() == b.read_bytes()
    assert not list((tmp_path / "a").glob(".*"))  # no temporary file left


def test_rejects_count_extraction_skips_and_stage_reasons():
    assert plots._rejects(STATS["stages"]) == {"extract: skipped_redirect": 2, "clean: too_short": 1}


def test_without_a_cjk_font_the_tokens_figure_is_still_drawn(inputs, tmp_path, monkeypatch):
    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    from prepsuite.report.profile import read_profile

    path = plots.plot_tokens(read_profile(inputs[1]), tmp_path / "tokens.png")
    assert path.stat().st_size > 5000


def test_many_labels_and_empty_inputs(tmp_path):
    plots.plot_labels([(i, 1 + i % 7) for i in range(300)], tmp_path / "many.png")
    plots.plot_labels([], tmp_path / "none.png")
    plots.plot_rejects({"stages": []}, tmp_path / "rejects.png")
    plots.plot_w2v_scores({"analogies": [], "similarity": []}, tmp_path / "scores.png")
    assert all((tmp_path / n).stat().st_size > 1000 for n in ("many.png", "none.png", "rejects.png", "scores.png"))


def test_w2v_without_eval_draws_the_training_only(tmp_path):
    train = tmp_path / "train.json"
    train.write_text(json.dumps({"vocabulary": 5, "words": 40, "params": {"workers": 1},
                                 "epochs": [{"epoch": 1, "words_per_second": 1000}]}), encoding="utf-8")
    assert [p.name for p in plots.w2v_plots(train, None, tmp_path / "out")] == ["training.png"]


def test_prep_plot_refuses_a_file_that_is_not_a_stats_file_in_one_line(prep, inputs, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"stage": "clean"}', encoding="utf-8")
    result = prep("plot", "corpus", "--stats", bad, "--profile", inputs[1], "-o", tmp_path / "out", ok=False)
    assert result.exit_code == 1 and "bad.json: not a corpus stats.json" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    ok = prep("plot", "corpus", "--stats", inputs[0], "--profile", inputs[1], "-o", tmp_path / "out")
    assert "5 figures" in ok.output


def test_default_target_adds_shards_and_word_vectors_once_they_are_made():
    from prepsuite.report.workflow import built_targets

    made: set[str] = set()
    assert built_targets(["c"], ["s"], ["w"], made.__contains__) == ["c"]
    made.add("results/shards/verify.txt")
    assert built_targets(["c"], ["s"], ["w"], made.__contains__) == ["c", "s"]
    made.add("results/w2v/train.json")
    assert built_targets(["c"], ["s"], ["w"], made.__contains__) == ["c", "s", "w"]
