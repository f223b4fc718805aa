"""A synthetic corpus with planted relations: a seconds-long check that training and scoring work.

Every kingdom ``k`` has four rulers — ``king{k}``, ``queen{k}``, ``prince{k}``, ``princess{k}``
— each a point in (kingdom × gender × age). A line puts one ruler among context words drawn
for each of its three attributes (``t{k}x{j}`` for the kingdom, he/his/man or she/her/woman,
adult/grown/elder or child/young/little). Vectors that learn the contexts therefore carry a
gender direction and an age direction shared by all kingdoms, and the analogies
``king0 queen0 prince1 princess1`` (gender) and ``king0 prince0 queen1 princess1`` (age) have
their answers by vector offset. The nearest neighbour of the third word alone cannot answer
both kinds (it is the gender partner or the age partner, not both), so high accuracy on both
sections means the offsets were learned.

``python -m prepsuite.w2v.synthetic DIR`` writes ``corpus.txt``, ``analogies.txt`` and
``similarity.txt`` (gold score: how many of the three attributes two rulers share).
"""

from __future__ import annotations

import argparse
import itertools
import random
from pathlib import Path

from ..textio import atomic_output

ROLES = {("male", "adult"): "king", ("female", "adult"): "queen",
         ("male", "young"): "prince", ("female", "young"): "princess"}
CONTEXT = {"male": ("he", "his", "man"), "female": ("she", "her", "woman"),
           "adult": ("adult", "grown", "elder"), "young": ("child", "young", "little")}
GENDERS = ("male", "female")
AGES = ("adult", "young")


def write_corpus(path: str | Path, kingdoms: int = 5, lines: int = 4000, seed: int = 0) -> None:
    """``lines`` lines of five words: a ruler among two kingdom, one gender and one age word."""
    if kingdoms < 2 or lines < 1:
        raise ValueError(f"need kingdoms >= 2 and lines >= 1, got {kingdoms} and {lines}")
    rng = random.Random(seed)
    with atomic_output(path) as fh:
        for _ in range(lines):
            k, gender, age = rng.randrange(kingdoms), rng.choice(GENDERS), rng.choice(AGES)
            topic = [f"t{k}x{j}" for j in range(3)]
            context = [rng.choice(topic), rng.choice(topic), rng.choice(CONTEXT[gender]), rng.choice(CONTEXT[age])]
            rng.shuffle(context)
            fh.write(" ".join(context[:2] + [f"{ROLES[gender, age]}{k}"] + context[2:]) + "\n")


def analogy_sections(kingdoms: int = 5) -> dict[str, list[tuple[str, str, str, str]]]:
    """Questions across every ordered pair of kingdoms: ``gender`` and ``age`` sections."""
    gender = [("king", "queen", "prince", "princess"), ("princess", "prince", "queen", "king")]
    age = [("king", "prince", "queen", "princess"), ("princess", "queen", "prince", "king")]
    sections: dict[str, list[tuple[str, str, str, str]]] = {"gender": [], "age": []}
    for i, j in itertools.permutations(range(kingdoms), 2):
        for name, patterns in (("gender", gender), ("age", age)):
            for a, b, c, d in patterns:
                sections[name].append((f"{a}{i}", f"{b}{i}", f"{c}{j}", f"{d}{j}"))
    return sections


def similarity_pairs(kingdoms: int = 5) -> list[tuple[str, str, float]]:
    """Every pair of rulers, scored by the number of attributes they share (0 to 2)."""
    rulers = [(k, g, a) for k in range(kingdoms) for g in GENDERS for a in AGES]
    return [(f"{ROLES[g1, a1]}{k1}", f"{ROLES[g2, a2]}{k2}", float((k1 == k2) + (g1 == g2) + (a1 == a2)))
            for (k1, g1, a1), (k2, g2, a2) in itertools.combinations(rulers, 2)]


def write_analogies(path: str | Path, kingdoms: int = 5) -> None:
    with atomic_output(path) as fh:
        for name, questions in analogy_sections(kingdoms).items():
            fh.write(f": {name}\n")
            fh.writelines(" ".join(q) + "\n" for q in questions)


def write_similarity(path: str | Path, kingdoms: int = 5) -> None:
    with atomic_output(path) as fh:
        fh.write("word1\tword2\tshared\n")
        fh.writelines(f"{a}\t{b}\t{s:g}\n" for a, b, s in similarity_pairs(kingdoms))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--kingdoms", type=int, default=5)
    parser.add_argument("--lines", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    write_corpus(args.outdir / "corpus.txt", args.kingdoms, args.lines, args.seed)
    write_analogies(args.outdir / "analogies.txt", args.kingdoms)
    write_similarity(args.outdir / "similarity.txt", args.kingdoms)


if __name__ == "__main__":
    main()
