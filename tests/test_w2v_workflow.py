"""`snakemake -j8 w2v`: training only by default, evaluation when config lists test sets."""

from __future__ import annotations

import json

import pytest

from conftest import snakemake, snakemake_workdir


def jobs(work, *args: str) -> str:
    proc = snakemake(work, "-n", "-p", "w2v", *args)
    return proc.stdout + proc.stderr


def test_w2v_target_trains_only_when_no_test_set_is_configured(tmp_path):
    work = snakemake_workdir(tmp_path)
    plan = jobs(work)
    assert "rule w2v_train:" in plan and "rule w2v_eval:" not in plan
    assert "w2v train results/corpus/corpus.txt --out results/w2v" in plan
    assert "--vector-size 100 --window 5 --min-count 5 --negative 5 --epochs 5 --seed 1 --cbow" in plan


def test_configured_test_sets_add_the_evaluation(tmp_path):
    work = snakemake_workdir(tmp_path)
    for name in ("an1.txt", "an2.txt", "ws.txt"):
        (work / name).write_text("", encoding="utf-8")
    plan = jobs(work, "--config", "w2v={sg: 1, analogies: [an1.txt, an2.txt], similarity: ws.txt}")
    assert "rule w2v_eval:" in plan and " --sg " in plan
    assert "--analogies an1.txt --analogies an2.txt --similarity ws.txt" in plan
    assert "--out results/w2v/eval.json" in plan


def test_punctuation_and_stop_words_are_settings(tmp_path):
    work = snakemake_workdir(tmp_path)
    (work / "stop.txt").write_text("的\n", encoding="utf-8")
    plan = jobs(work, "--config", "w2v={drop_punctuation: true, stopwords: stop.txt}")
    assert "--seed 1 --drop-punctuation --stopwords stop.txt --cbow" in plan
    result = snakemake(work, "-n", "w2v", "--config", "w2v={stopwords: missing.txt}", check=False)
    assert result.returncode != 0 and "missing.txt" in result.stdout + result.stderr  # a missing input


@pytest.mark.slow
def test_w2v_on_the_sample_then_evaluate(tmp_path):
    work = snakemake_workdir(tmp_path)
    snakemake(work, "-j2", "w2v", "--config", "w2v={workers: 1}")
    out = work / "results" / "w2v"
    assert sorted(p.name for p in out.iterdir()) == ["train.json", "vectors.kv", "vectors.txt", "word2vec.model"]
    train = json.loads((out / "train.json").read_text(encoding="utf-8"))
    assert train["vocabulary"] > 20 and train["params"]["workers"] == 1 and len(train["epochs"]) == 5
    assert "words/s" in (work / "results/logs/w2v/train.log").read_text(encoding="utf-8")

    (work / "analogies.txt").write_text(": cities\n北京 中国 上海 中国\n", encoding="utf-8")
    (work / "pairs.txt").write_text("word1\tword2\tscore\r\n北京\t上海\t8\r\n中国\t的\t1\r\n是\t在\t2\r\n",
                                    encoding="utf-8")
    before = (out / "vectors.txt").stat().st_mtime_ns
    snakemake(work, "-j2", "w2v", "--config", "w2v={workers: 1, analogies: [analogies.txt], similarity: [pairs.txt]}")
    assert (out / "vectors.txt").stat().st_mtime_ns == before  # the vectors are not trained again
    report = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    assert report["analogies"][0]["questions"] == 1 and report["similarity"][0]["pairs"] == 3
