"""Training: outputs, reproducibility with one worker, and a planted analogy recovered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from prepsuite.textio import InputError
from prepsuite.w2v import synthetic
from prepsuite.w2v.evaluate import evaluate, load_vectors
from prepsuite.w2v.train import OUTPUT_FILES, TrainParams, train_word2vec

# Small and fast (a fraction of a second per training) but enough for the planted relations.
PARAMS = TrainParams(vector_size=32, window=2, min_count=1, sg=True, epochs=10, workers=1, seed=1)


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("synthetic")
    synthetic.main([str(d)])
    return d


@pytest.fixture(scope="module")
def trained(synth) -> Path:
    out = synth / "model"
    train_word2vec(synth / "corpus.txt", out, PARAMS)
    return out


def test_outputs_are_complete_and_agree(trained):
    from gensim.models import KeyedVectors, Word2Vec

    assert sorted(p.name for p in trained.iterdir()) == sorted(OUTPUT_FILES)  # no temporary left
    kv = KeyedVectors.load(str(trained / "vectors.kv"))
    model = Word2Vec.load(str(trained / "word2vec.model"))
    text = KeyedVectors.load_word2vec_format(str(trained / "vectors.txt"), binary=False)
    assert (trained / "vectors.txt").read_text(encoding="utf-8").split("\n", 1)[0] == f"{len(kv)} 32"
    assert kv.index_to_key == model.wv.index_to_key == text.index_to_key
    assert np.array_equal(kv.vectors, model.wv.vectors)
    assert np.allclose(kv.vectors, text.vectors, atol=1e-6)

    report = json.loads((trained / "train.json").read_text(encoding="utf-8"))
    assert report["params"] == {"vector_size": 32, "window": 2, "min_count": 1, "sg": True, "negative": 5,
                                "epochs": 10, "workers": 1, "seed": 1,
                                "drop_punctuation": False, "stopwords": ""}
    assert report["deterministic"] is True
    assert report["words"] == 20_000 and report["vocabulary"] == len(kv) == 47
    assert [e["epoch"] for e in report["epochs"]] == list(range(1, 11))
    assert all(e["words_per_second"] > 0 for e in report["epochs"]) and report["words_per_second"] > 0
    assert 0 < report["effective_words"] <= 10 * 20_000


def test_same_seed_and_one_worker_give_the_same_bytes(synth, trained, tmp_path):
    again = train_word2vec(synth / "corpus.txt", tmp_path / "again", PARAMS)
    assert again.workers == 1
    for name in ("vectors.txt", "vectors.kv"):
        assert (tmp_path / "again" / name).read_bytes() == (trained / name).read_bytes(), name
    other = TrainParams(**{**PARAMS.__dict__, "seed": 2})
    train_word2vec(synth / "corpus.txt", tmp_path / "other", other)
    assert (tmp_path / "other/vectors.txt").read_bytes() != (trained / "vectors.txt").read_bytes()


def test_reproducible_whatever_pythonhashseed(synth, tmp_path):
    """Users need not fix PYTHONHASHSEED: two interpreters with different hash seeds agree."""
    prep = Path(sys.executable).with_name("prep")
    outputs = []
    for hashseed in ("0", "4242"):
        out = tmp_path / f"hash{hashseed}"
        subprocess.run([str(prep), "w2v", "train", str(synth / "corpus.txt"), "--out", str(out),
                        "--workers", "1", "--min-count", "1", "--epochs", "2", "--vector-size", "16"],
                       check=True, capture_output=True, env=dict(os.environ, PYTHONHASHSEED=hashseed))
        outputs.append((out / "vectors.txt").read_bytes())
    assert outputs[0] == outputs[1]


def test_planted_analogies_are_recovered(synth, trained):
    report = evaluate(trained, analogies=[synth / "analogies.txt"], similarity=[synth / "similarity.txt"])
    (analogies,) = report["analogies"]
    assert [s["section"] for s in analogies["sections"]] == ["gender", "age"]
    for section in analogies["sections"]:
        assert section["oov"] == 0 and section["evaluated"] == section["questions"] == 40
        assert section["accuracy"] >= 0.9, section
    assert analogies["accuracy"] >= 0.9
    (similarity,) = report["similarity"]
    assert similarity["oov"] == 0 and similarity["spearman"] > 0.3 and similarity["pearson"] > 0.3


def test_planted_analogies_need_the_offsets_not_just_neighbours(synth, trained):
    """The check is not trivial: the third word's nearest neighbour answers only half."""
    kv = load_vectors(trained)
    right = 0
    questions = [q for qs in synthetic.analogy_sections().values() for q in qs]
    for a, b, c, d in questions:
        nearest = next(w for w, _ in kv.most_similar(c, topn=5) if w not in (a, b, c))
        right += nearest == d
    assert right / len(questions) <= 0.75


def test_on_epoch_reports_every_epoch(synth, tmp_path):
    seen = []
    params = TrainParams(vector_size=8, min_count=1, epochs=3, workers=2, seed=5)
    result = train_word2vec(synth / "corpus.txt", tmp_path / "m", params, seen.append)
    assert [(e.epoch, e.epochs, e.words) for e in seen] == [(1, 3, 20_000), (2, 3, 20_000), (3, 3, 20_000)]
    assert result.workers == 2 and result.to_dict()["deterministic"] is False
    assert "3 epochs" in result.summary() and "words/s" in result.summary()


def test_bad_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match=r"missing\.txt: no such file"):
        train_word2vec(tmp_path / "missing.txt", tmp_path / "out", PARAMS)
    rare = tmp_path / "rare.txt"
    rare.write_text("每个 词 只 出现 一次\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"rare\.txt: no word occurs at least min_count=5 times \(5 words read\)"):
        train_word2vec(rare, tmp_path / "out", TrainParams(min_count=5, workers=1))
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="no word occurs"):
        train_word2vec(empty, tmp_path / "out", TrainParams(workers=1))
    assert not (tmp_path / "out" / "train.json").exists()


@pytest.mark.parametrize("content, message", [
    ("北京 上海\n广州 ".encode() + b"\xff" + "深圳\n".encode(), r"line 2, byte 8: not UTF-8"),
    ("北京 上海\n广州\u3000深圳\n".encode(), r"line 2: U\+3000 between words"),
    ("北京 上海\n广州\xa0深圳\n".encode(), r"line 2: U\+00A0 between words"),
])
def test_a_corpus_gensim_would_misread_is_refused_naming_the_line(tmp_path, content, message):
    """gensim fails on bad UTF-8 without a place, and counts words split by U+3000 that it then
    trains as one: both refused before training, with the line."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(content + "北京 上海\n".encode() * 3)
    with pytest.raises(InputError, match=rf"corpus\.txt: {message}"):
        train_word2vec(corpus, tmp_path / "out", TrainParams(min_count=1, workers=1))
    assert not (tmp_path / "out").exists()


def test_the_corpus_check_finds_the_line_across_blocks(tmp_path, monkeypatch):
    from prepsuite.w2v import train

    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes("北京 上海\n".encode() * 1000 + "广州\u3000深圳\n".encode())
    for block in (7, 64, 1 << 20):
        monkeypatch.setattr(train, "_CHECK_BLOCK", block)
        with pytest.raises(InputError, match=r"line 1001: U\+3000"):
            train.check_corpus_text(corpus)
    corpus.write_bytes("北京 上海\n".encode() * 1000)
    train.check_corpus_text(corpus)


def test_an_output_directory_that_is_a_file_is_refused_before_training(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("北京 上海\n" * 10, encoding="utf-8")
    (tmp_path / "out").write_text("x")
    with pytest.raises(InputError, match=r"out: is a file; give a directory"):
        train_word2vec(corpus, tmp_path / "out", TrainParams(min_count=1, workers=1))


@pytest.mark.parametrize(
    "field, value, message",
    [("vector_size", 0, "vector_size must be an integer >= 1"), ("epochs", -1, "epochs must be"),
     ("workers", -2, "workers must be an integer >= 0"), ("seed", 2**32, "seed must be an integer in")],
)
def test_bad_parameters(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainParams(**{field: value})
