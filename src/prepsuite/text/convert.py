"""Traditional → simplified conversion with OpenCC (opencc-python-reimplemented).

Only the to-simplified configs are offered: the corpus is simplified, and a typo such as
``s2t`` would otherwise silently produce the opposite of what the user wanted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..stats import StageStats
from ..textio import Record

#: Config name → what it converts. Names match OpenCC's own ``*.json`` configs.
OPENCC_CONFIGS = {
    "t2s": "Traditional Chinese (OpenCC standard) → Simplified",
    "tw2s": "Traditional Chinese (Taiwan) → Simplified",
    "hk2s": "Traditional Chinese (Hong Kong) → Simplified",
    "tw2sp": "Traditional Chinese (Taiwan) → Simplified, with mainland phrases (軟體 → 软件)",
}


def make_converter(config: str = "t2s"):
    """An OpenCC converter for ``config`` (``t2s`` or ``t2s.json``); unknown names are refused."""
    name = config[:-5] if config.endswith(".json") else config
    if name not in OPENCC_CONFIGS:
        raise ValueError(
            f"unknown OpenCC config {config!r}; choose one of {', '.join(OPENCC_CONFIGS)}"
        )
    from opencc import OpenCC  # heavy dictionaries: load only when converting

    return OpenCC(name)


class TokenConverter:
    """Converts segmented tokens one by one, memoised (a corpus has far fewer distinct tokens
    than token occurrences).

    OpenCC converts some characters differently inside a phrase than alone (畢昇 → 毕昇, but
    昇 → 升). When segmentation splits such a phrase, converting the corpus again would change it;
    converting each token as the last step makes the corpus a fixed point of the conversion.
    """

    def __init__(self, config: str = "t2s"):
        self._cc = make_converter(config)
        self._cache: dict[str, str] = {}

    def __call__(self, token: str) -> str:
        out = self._cache.get(token)
        if out is None:
            out = self._cc.convert(token)
            if len(self._cache) < 2_000_000:
                self._cache[token] = out
        return out


def convert_text(text: str, config: str = "t2s") -> str:
    return make_converter(config).convert(text)


def convert_records(records: Iterable[Record], stats: StageStats,
                    config: str = "t2s") -> Iterator[Record]:
    """Convert every document; one document out per document in (line count preserved)."""
    cc = make_converter(config)
    for rec in records:
        stats.count_in(rec.text)
        out = cc.convert(rec.text)
        stats.count_out(out)
        yield rec.with_text(out)
