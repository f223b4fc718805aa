"""Scoring: gensim's metrics on every file layout, out-of-vocabulary counts, loading, neighbours."""

from __future__ import annotations

import pytest

from prepsuite.textio import InputError
from prepsuite.w2v import synthetic
from prepsuite.w2v.evaluate import evaluate, load_vectors, neighbors
from prepsuite.w2v.train import TrainParams, train_word2vec


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("w2v-eval")
    synthetic.write_corpus(d / "corpus.txt", lines=2000)
    train_word2vec(d / "corpus.txt", d / "model", TrainParams(vector_size=16, window=2, min_count=1, epochs=5, workers=1))
    return d / "model"


@pytest.fixture(scope="module")
def kv(model):
    return load_vectors(model)


def test_every_similarity_layout_scores_the_same(model, kv, tmp_path):
    pairs = [("king0", "queen0"), ("king0", "prince1"), ("he", "she"), ("t0x0", "t0x1"), ("child", "elder"),
             ("queen2", "princess2")]
    gold = [(a, b, float(kv.similarity(a, b))) for a, b in pairs]  # the model's own scores: rho = 1
    rows = [f"{a}\t{b}\t{s!r}" for a, b, s in gold]
    layouts = {
        "tabs.txt": "\n".join(rows) + "\n",
        "spaces-crlf.txt": "\r\n".join(r.replace("\t", "  ") for r in rows),
        "header.tsv": "word1\tword2\tscore\n" + "\n".join(rows) + "\n",
    }
    results = []
    for name, text in layouts.items():
        (tmp_path / name).write_text(text, encoding="utf-8", newline="")
        (result,) = evaluate(model, similarity=[tmp_path / name])["similarity"]
        results.append({k: v for k, v in result.items() if k not in ("file", "header")})
    assert results[0] == results[1] == results[2]
    assert results[0]["spearman"] == pytest.approx(1.0) and results[0]["pearson"] == pytest.approx(1.0)
    assert results[0]["pairs"] == results[0]["evaluated"] == 6 and results[0]["oov"] == 0


def test_reversed_gold_scores_anticorrelate(model, kv, tmp_path):
    pairs = [("king0", "queen0"), ("king0", "prince1"), ("he", "she"), ("child", "elder")]
    (tmp_path / "rev.txt").write_text("".join(f"{a} {b} {-kv.similarity(a, b)}\n" for a, b in pairs), encoding="utf-8")
    (result,) = evaluate(model, similarity=[tmp_path / "rev.txt"])["similarity"]
    assert result["spearman"] == pytest.approx(-1.0)


def test_out_of_vocabulary_pairs_and_questions_are_counted_and_left_out(model, tmp_path):
    (tmp_path / "sim.txt").write_text("king0 queen0 9\nking0 unicorn 5\ndragon unicorn 3\nhe she 4\nhe man 6\n",
                                      encoding="utf-8")
    (tmp_path / "an.txt").write_text(": known\nking0 queen0 prince1 princess1\nking0 queen0 prince1 dragon\n"
                                     ": unknown\ndragon unicorn king0 queen0\n", encoding="utf-8")
    report = evaluate(model, analogies=[tmp_path / "an.txt"], similarity=[tmp_path / "sim.txt"])
    (sim,) = report["similarity"]
    assert (sim["pairs"], sim["evaluated"], sim["oov"], sim["oov_ratio"]) == (5, 3, 2, 0.4)
    (an,) = report["analogies"]
    assert (an["questions"], an["evaluated"], an["oov"]) == (3, 1, 2)
    known, unknown = an["sections"]
    assert (known["section"], known["questions"], known["evaluated"], known["oov"]) == ("known", 2, 1, 1)
    assert (unknown["evaluated"], unknown["oov"], unknown["accuracy"], unknown["correct"]) == (0, 1, None, 0)
    assert an["accuracy"] == known["accuracy"] == known["correct"] / 1


def test_fewer_than_two_known_pairs_give_no_correlation(model, tmp_path):
    (tmp_path / "sim.txt").write_text("king0 queen0 9\nking0 unicorn 5\n", encoding="utf-8")
    (sim,) = evaluate(model, similarity=[tmp_path / "sim.txt"])["similarity"]
    assert sim["evaluated"] == 1 and sim["spearman"] is None and sim["pearson"] is None


def test_restrict_vocab_and_case(model, kv, tmp_path):
    rarest = kv.index_to_key[-1]
    (tmp_path / "sim.txt").write_text(f"KING0 QUEEN0 9\nhe she 1\nhe {rarest} 3\n", encoding="utf-8")
    (sim,) = evaluate(model, similarity=[tmp_path / "sim.txt"])["similarity"]
    assert sim["oov"] == 0  # gensim's default: compare in upper case
    (sim,) = evaluate(model, similarity=[tmp_path / "sim.txt"], case_insensitive=False)["similarity"]
    assert sim["oov"] == 1
    report = evaluate(model, similarity=[tmp_path / "sim.txt"], restrict_vocab=len(kv) - 1)
    assert report["restrict_vocab"] == len(kv) - 1 and report["similarity"][0]["oov"] == 1


def test_files_are_checked_before_the_model_is_loaded(tmp_path):
    (tmp_path / "bad.txt").write_text("a b 1\na b\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.txt: line 2: "):
        evaluate(tmp_path / "no-model-here", similarity=[tmp_path / "bad.txt"])
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate(tmp_path / "no-model-here")


def test_load_vectors_from_every_output_and_format(model, kv, tmp_path):
    kv.save_word2vec_format(str(tmp_path / "vectors.bin"), binary=True)
    for path in (model, model / "vectors.kv", model / "word2vec.model", model / "vectors.txt", tmp_path / "vectors.bin"):
        assert load_vectors(path).index_to_key == kv.index_to_key, path
    with pytest.raises(InputError, match="no such file"):
        load_vectors(tmp_path / "missing.kv")
    (tmp_path / "junk.kv").write_bytes(b"not a pickle")
    with pytest.raises(InputError, match=r"junk\.kv: cannot load word vectors"):
        load_vectors(tmp_path / "junk.kv")


def test_neighbors(kv):
    near = neighbors(kv, "king0", 5)
    assert len(near) == 5 and "king0" not in [w for w, _ in near]
    assert [s for _, s in near] == sorted((s for _, s in near), reverse=True)
    with pytest.raises(InputError, match=r"'unicorn' is not in the vocabulary of the model \(47 words\)"):
        neighbors(kv, "unicorn")
    with pytest.raises(ValueError, match="n must be >= 1"):
        neighbors(kv, "king0", 0)
