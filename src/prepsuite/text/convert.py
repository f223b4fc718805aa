"""Traditional → simplified conversion with OpenCC's dictionaries.

Three engines, never two Python modules named ``opencc`` in one environment:

* ``pyo3`` (default): opencc-pyo3, a Rust implementation of OpenCC with its lexicons, module
  ``opencc_pyo3`` (a dependency, installed by pip like any other; nothing clashes with it). The
  fastest of the three and the best score on OpenCC's own test cases among those pip installs
  (docs/benchmarks.md, tests/test_convert_engines.py).
* ``python``: opencc-python-reimplemented (a dependency, always there), about 1.3 MB/s.
* ``cpp``: OpenCC's own C++ library, the official ``opencc`` distribution. It
  installs a Python module named ``opencc`` too, so it is never installed into the project's
  environment: setup.sh puts it in a directory of its own (``.venv/opencc-cpp``) and the engine
  runs it in a separate ``python -S -I`` process that sees only the standard library and that
  directory, fed batches of documents through a pipe. (The operating system's ``opencc``
  command-line tool is C++ too, but Debian's 1.1.6 measured only about 5 MB/s here.)

The three ship different dictionary versions, so a few words convert differently (docs).
Only the to-simplified configs are offered: the corpus is simplified, and a typo such as
``s2t`` would otherwise silently produce the opposite of what the user wanted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from time import perf_counter
from pathlib import Path
from collections.abc import Iterable, Iterator
from functools import lru_cache

from ..stats import StageStats
from ..textio import Record

#: Config name → what it converts. Names match OpenCC's own ``*.json`` configs.
OPENCC_CONFIGS = {
    "t2s": "Traditional Chinese (OpenCC standard) → Simplified",
    "tw2s": "Traditional Chinese (Taiwan) → Simplified",
    "hk2s": "Traditional Chinese (Hong Kong) → Simplified",
    "tw2sp": "Traditional Chinese (Taiwan) → Simplified, with mainland phrases (軟體 → 软件)",
}


#: The engine of the workflow and of ``prep convert`` / ``prep process`` when none is named.
DEFAULT_ENGINE = "pyo3"


def make_converter(config: str = "t2s", engine: str = DEFAULT_ENGINE):
    """An in-process converter (``.convert(text)``) for ``config`` (``t2s`` or ``t2s.json``);
    unknown names are refused. ``engine`` is ``pyo3`` or ``python``; the ``cpp`` engine runs in
    a process of its own (:func:`convert_batch_cpp`), so it has no converter here."""
    name = _config_name(config)
    if engine == "pyo3":
        return _pyo3_converter(name)
    if engine != "python":
        raise ValueError(f"engine {engine!r} has no in-process converter; choose pyo3 or python")
    from opencc import OpenCC  # heavy dictionaries: load only when converting

    return OpenCC(name)


@lru_cache(maxsize=None)
def _pyo3_converter(name: str):
    """One converter per config and process: building one loads its dictionaries (~35 ms), and
    a `prep process` job asks three times (the engine check, the convert stage, the phrase
    joiner of the segment stage). Its ``convert`` keeps no state between calls."""
    try:
        from opencc_pyo3 import OpenCC
    except ImportError:
        raise ValueError("conversion engine 'pyo3' needs opencc-pyo3 (pip install opencc-pyo3), "
                         "or choose engine 'python'") from None
    # opencc-pyo3 falls back to s2t (with a message in get_last_error) for a config it does not
    # know; the names offered here are all its own, checked so that a future version cannot
    # silently convert the wrong way
    if not OpenCC.is_valid_config(name):
        raise ValueError(f"opencc-pyo3 does not know the config {name!r}")
    return OpenCC(name)


class TokenConverter(dict):
    """Converts segmented tokens one by one, memoised (a corpus has far fewer distinct tokens
    than token occurrences).

    Only for text segmented *before* conversion. OpenCC converts some characters differently
    inside a phrase than alone (畢昇 → 毕昇, but 昇 → 升), so converting tokens of text that was
    already converted phrase by phrase damages names once segmentation has split them (毕 昇 →
    毕 升). The workflow converts whole documents and never tokens. (Nor is converted text a
    fixed point of the conversion: t2s("毕昇") is "毕升", since OpenCC's phrase table holds the
    traditional 畢昇 only.)

    A dict of token → converted token, filled on first sight: ``map(conv.__getitem__, tokens)``
    converts a token list with no Python call for the tokens seen before.
    """

    MAX_ENTRIES = 2_000_000

    def __init__(self, config: str = "t2s", engine: str = DEFAULT_ENGINE):
        super().__init__()
        self._cc = make_converter(config, "python" if engine == "cpp" else engine)

    def __missing__(self, token: str) -> str:
        out = self._cc.convert(token)
        if len(self) < self.MAX_ENTRIES:
            self[token] = out
        return out

    def __call__(self, token: str) -> str:
        return self[token]


def convert_text(text: str, config: str = "t2s", engine: str = DEFAULT_ENGINE) -> str:
    if engine == "cpp":
        return convert_batch_cpp([text], config)[0]
    return make_converter(config, engine).convert(text)


ENGINES = ("pyo3", "python", "cpp")

#: Where setup.sh installs the official OpenCC distribution, apart from every other package.
CPP_ENV_VAR = "PREPSUITE_OPENCC_CPP"

# Runs in a Python that sees only the stdlib and the isolated OpenCC directory (-S -I), so the
# `opencc` it imports is the official C++ binding, never opencc-python-reimplemented.
_CPP_WORKER = (
    "import sys; sys.path.insert(0, sys.argv[1]); import opencc; "
    "data = sys.stdin.buffer.read().decode('utf-8'); "
    "sys.stdout.buffer.write(opencc.OpenCC(sys.argv[2] + '.json').convert(data).encode('utf-8'))"
)


def cpp_opencc_dir() -> Path:
    """The directory holding the official ``opencc`` distribution (C++ library + binding)."""
    configured = os.environ.get(CPP_ENV_VAR)
    path = Path(configured) if configured else Path(sys.prefix) / "opencc-cpp"
    if not (path / "opencc" / "__init__.py").is_file():
        raise ValueError(
            f"conversion engine 'cpp' needs OpenCC's official C++ build in {path} "
            f"(setup.sh installs it: pip install --target {path} opencc; or set {CPP_ENV_VAR}), "
            "or choose engine 'python'"
        )
    return path


def convert_batch_cpp(texts: list[str], config: str = "t2s") -> list[str]:
    """Convert many documents with one run of OpenCC's C++ library, in its own process.

    Documents travel as lines: a document with newlines takes several, and is put back
    together from its line count, so no stand-in character can collide with the text.
    OpenCC maps line to line, so the count of lines that come back is checked.
    """
    name = _config_name(config)
    if not texts:
        return []
    payload = "\n".join(texts)
    sent = payload.count("\n") + 1
    # Cleaned documents are one line each: then a line out is a document out, and the
    # documents need no splitting and putting back together (a third of the batch's time).
    lines = None if sent == len(texts) else [text.split("\n") for text in texts]
    proc = subprocess.run([sys.executable, "-S", "-I", "-c", _CPP_WORKER, str(cpp_opencc_dir()), name],
                          input=payload.encode("utf-8"), capture_output=True, check=False)
    if proc.returncode != 0:
        raise ValueError(f"OpenCC (C++) failed on {name}: {proc.stderr.decode(errors='replace').strip()}")
    out = proc.stdout.decode("utf-8").split("\n")
    if len(out) != sent:
        raise ValueError(f"OpenCC (C++) returned {len(out)} lines for {sent}")
    if lines is None:
        return out
    docs: list[str] = []
    pos = 0
    for doc in lines:
        docs.append("\n".join(out[pos:pos + len(doc)]))
        pos += len(doc)
    return docs


def _config_name(config: str) -> str:
    """``t2s`` for ``t2s`` or ``t2s.json``; unknown configs are refused."""
    name = config[:-5] if config.endswith(".json") else config
    make_converter_check(name)
    return name


def make_converter_check(name: str) -> None:
    if name not in OPENCC_CONFIGS:
        raise ValueError(
            f"unknown OpenCC config {name!r}; choose one of {', '.join(OPENCC_CONFIGS)}"
        )


def check_engine(engine: str, config: str) -> None:
    """Refuse an unknown engine or config (and a missing C++ tool) before any output starts."""
    if engine not in ENGINES:
        raise ValueError(f"unknown conversion engine {engine!r}; choose one of {', '.join(ENGINES)}")
    _config_name(config)
    if engine == "cpp":
        cpp_opencc_dir()
    else:
        make_converter(config, engine)


def convert_records(records: Iterable[Record], stats: StageStats, config: str = "t2s",
                    engine: str = DEFAULT_ENGINE, batch_bytes: int = 16 << 20) -> Iterator[Record]:
    """Convert every document; one document out per document in (line count preserved).

    The ``cpp`` engine hands documents to OpenCC's C++ library in batches of ``batch_bytes``,
    so memory stays bounded and its process starts once per batch, not per document.
    """
    check_engine(engine, config)
    stats.counters[f"engine_{engine}"] = 1
    if engine != "cpp":
        cc = make_converter(config, engine)
        for rec in records:
            started = perf_counter()
            stats.count_in(rec.text, rec.size)
            out = cc.convert(rec.text)
            size = stats.count_out(out)
            stats.seconds += perf_counter() - started
            yield rec.with_text(out, size)
        return
    batch: list[Record] = []
    size = 0
    for rec in records:
        stats.count_in(rec.text, rec.size)
        batch.append(rec)
        size += len(rec.text)
        if size >= batch_bytes:
            yield from _flush(batch, stats, config)
            batch, size = [], 0
    yield from _flush(batch, stats, config)


def _flush(batch: list[Record], stats: StageStats, config: str) -> Iterator[Record]:
    started = perf_counter()
    converted = convert_batch_cpp([r.text for r in batch], config)
    sizes = [stats.count_out(out) for out in converted]
    stats.seconds += perf_counter() - started
    for rec, out, size in zip(batch, converted, sizes):
        yield rec.with_text(out, size)
