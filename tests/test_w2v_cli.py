"""`prep w2v train|eval|neighbors` as a user types them."""

from __future__ import annotations

import json

import pytest

from prepsuite.w2v import synthetic


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    d = tmp_path_factory.mktemp("w2v-cli")
    synthetic.main([str(d)])
    return d


@pytest.fixture(scope="module")
def trained(session):
    from conftest import Prep

    result = Prep()("w2v", "train", session / "corpus.txt", "--out", session / "model", "--workers", "1",
                    "--min-count", "1", "--window", "2", "--vector-size", "32", "--epochs", "10", "--sg",
                    "--seed", "3")
    return session / "model", result


def test_help(prep):
    assert "w2v" in prep("--help").output
    out = prep("w2v", "--help").output
    for command in ("train", "eval", "neighbors"):
        assert command in out
    train = prep("w2v", "train", "--help").output
    for option in ("--out", "--vector-size", "--window", "--min-count", "--sg", "--cbow", "--negative",
                   "--epochs", "--workers", "--seed", "Example:"):
        assert option in train
    assert "--analogies" in prep("w2v", "eval", "--help").output
    assert "-n" in prep("w2v", "neighbors", "--help").output


def test_train_reports_each_epoch_with_words_per_second(trained):
    model, result = trained
    for epoch in range(1, 11):
        assert f"w2v: epoch {epoch}/10: 20,000 words in " in result.stderr
    assert "words/s" in result.stderr and "47 words in the vocabulary" in result.stderr
    report = json.loads((model / "train.json").read_text(encoding="utf-8"))
    assert report["params"]["sg"] is True and report["params"]["seed"] == 3 and len(report["epochs"]) == 10


def test_eval_prints_scores_and_writes_json(prep, session, trained):
    model, _ = trained
    result = prep("w2v", "eval", model, "--analogies", session / "analogies.txt",
                  "--similarity", session / "similarity.txt", "--out", session / "eval.json")
    assert f"analogies {session / 'analogies.txt'}: accuracy " in result.stdout
    assert "  gender: " in result.stdout and "  age: " in result.stdout
    assert "spearman " in result.stdout and "(190 pairs, 0 of 190 OOV)" in result.stdout
    report = json.loads((session / "eval.json").read_text(encoding="utf-8"))
    assert report["analogies"][0]["questions"] == 80 and report["analogies"][0]["accuracy"] >= 0.9
    assert report["similarity"][0]["header"] == "word1\tword2\tshared"


def test_eval_several_files_of_each_kind(prep, session, trained, tmp_path):
    model, _ = trained
    (tmp_path / "more.txt").write_text("king0 queen0 prince1 princess1\n", encoding="utf-8")
    (tmp_path / "pairs.txt").write_text("king0 queen0 3\r\nhe she 1\r\nking0 t0x1 2\r\n", encoding="utf-8")
    prep("w2v", "eval", model, "--analogies", session / "analogies.txt", "--analogies", tmp_path / "more.txt",
         "--similarity", tmp_path / "pairs.txt", "--similarity", session / "similarity.txt",
         "--out", tmp_path / "eval.json")
    report = json.loads((tmp_path / "eval.json").read_text(encoding="utf-8"))
    assert [len(a["sections"]) for a in report["analogies"]] == [2, 1]
    assert report["analogies"][1]["sections"][0]["section"] == "more"
    assert [s["pairs"] for s in report["similarity"]] == [3, 190]


def test_eval_bad_file_is_one_clear_line(prep, trained, tmp_path):
    model, _ = trained
    bad = tmp_path / "bad-sim.txt"
    bad.write_text("word1 word2 score\nking0 queen0 3\nhe she lots\n", encoding="utf-8")
    result = prep("w2v", "eval", model, "--similarity", bad, "--out", tmp_path / "eval.json", ok=False)
    assert result.exit_code == 1
    assert f"prep: error: {bad}: line 3: score 'lots' is not a number" in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "eval.json").exists()
    bad.write_text(": s\nking0 queen0 prince1\n", encoding="utf-8")
    result = prep("w2v", "eval", model, "--analogies", bad, ok=False)
    assert result.exit_code == 1 and f"{bad}: line 2: expected four words" in result.stderr
    result = prep("w2v", "eval", model, ok=False)
    assert result.exit_code == 1 and "nothing to evaluate" in result.stderr


def test_neighbors(prep, trained):
    model, _ = trained
    lines = prep("w2v", "neighbors", model, "queen0", "-n", "3").stdout.splitlines()
    assert len(lines) == 3
    for line in lines:
        word, similarity = line.split("\t")
        assert word != "queen0" and -1.0 <= float(similarity) <= 1.0
    assert len(prep("w2v", "neighbors", model / "vectors.txt", "he").stdout.splitlines()) == 10


def test_unknown_word_and_missing_inputs_are_clear_errors(prep, trained, tmp_path):
    model, _ = trained
    result = prep("w2v", "neighbors", model, "独角兽", ok=False)
    assert result.exit_code == 1
    assert f"prep: error: '独角兽' is not in the vocabulary of {model} (47 words)" in result.stderr
    assert "Traceback" not in result.output
    result = prep("w2v", "neighbors", tmp_path / "nowhere", "he", ok=False)
    assert result.exit_code == 1 and "no such file" in result.stderr
    result = prep("w2v", "train", tmp_path / "missing.txt", "--out", tmp_path / "out", ok=False)
    assert result.exit_code == 1 and "missing.txt: no such file" in result.stderr
    assert not (tmp_path / "out").exists()
