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

``prep w2v synthetic DIR`` (or ``python -m prepsuite.w2v.synthetic DIR``) writes ``corpus.txt``,
``analogies.txt`` and ``similarity.txt`` (gold score: how many of the three attributes two rulers
share). ``--punctuation`` puts punctuation tokens in every line as a real corpus has them (，、“”
inside, 。 at the end), to measure what ``--drop-punctuation`` does; the words and their order
are the same either way.
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


PUNCTUATION_INSIDE = ("，", "、", "“", "”")


def write_corpus(path: str | Path, kingdoms: int = 5, lines: int = 4000, seed: int = 0,
                 punctuation: bool = False) -> None:
    """``lines`` lines of five words: a ruler among two kingdom, one gender and one age word;
    with ``punctuation``, one or two punctuation tokens among them and 。 at the end (drawn from
    a generator of their own, so the words are those of the corpus without)."""
    if kingdoms < 2 or lines < 1:
        raise ValueError(f"need kingdoms >= 2 and lines >= 1, got {kingdoms} and {lines}")
    rng = random.Random(seed)
    marks = random.Random(seed + 1)
    with atomic_output(path) as fh:
        for _ in range(lines):
            k, gender, age = rng.randrange(kingdoms), rng.choice(GENDERS), rng.choice(AGES)
            topic = [f"t{k}x{j}" for j in range(3)]
            context = [rng.choice(topic), rng.choice(topic), rng.choice(CONTEXT[gender]), rng.choice(CONTEXT[age])]
            rng.shuffle(context)
            words = context[:2] + [f"{ROLES[gender, age]}{k}"] + context[2:]
            if punctuation:
                for _ in range(marks.randint(1, 2)):
                    words.insert(marks.randint(0, len(words)), marks.choice(PUNCTUATION_INSIDE))
                words.append("。")
            fh.write(" ".join(words) + "\n")


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


def write_set(outdir: str | Path, kingdoms: int = 5, lines: int = 4000, seed: int = 0,
              punctuation: bool = False) -> list[Path]:
    """``corpus.txt``, ``analogies.txt`` and ``similarity.txt`` in ``outdir``."""
    out = Path(outdir)
    write_corpus(out / "corpus.txt", kingdoms, lines, seed, punctuation)
    write_analogies(out / "analogies.txt", kingdoms)
    write_similarity(out / "similarity.txt", kingdoms)
    return [out / "corpus.txt", out / "analogies.txt", out / "similarity.txt"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--kingdoms", type=int, default=5)
    parser.add_argument("--lines", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--punctuation", action="store_true")
    args = parser.parse_args(argv)
    write_set(args.outdir, args.kingdoms, args.lines, args.seed, args.punctuation)


if __name__ == "__main__":
    main()
