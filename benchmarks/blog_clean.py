"""The regex step of the blog recipe, written the way users write it: the baseline to beat.

The widespread recipe for a Chinese Wikipedia corpus is four commands in a row: wikiextractor's
CLI, a small regex script like this one over its ``<doc>`` output, ``opencc -c t2s.json``, then
``python -m jieba -d " "``. This script is that regex pass, deliberately naive in the ways such
scripts are: it works line by line on wikiextractor's text, drops the ``<doc>`` lines and the
empty lines, *deletes* ``-{…}-`` conversion spans (losing their text, which the prepsuite
``clean`` stage resolves instead), removes empty brackets and empty 《》/『』, and turns 「」『』
into “”. Paragraphs stay separate lines (titles included), as in the blog's output.

It is not part of the package; ``benchmarks/corpus.py`` runs it as a separate process::

    python benchmarks/blog_clean.py extracted/AA/wiki_00 [more files …] -o cleaned.txt
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from typing import TextIO

DOC_LINE = re.compile(r"^\s*</?doc[\s>]")

# (pattern, replacement), applied in this order to every line.
SUBSTITUTIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"-\{.*?\}-"), ""),  # language conversion markup: just drop it
    (re.compile(r"[（(][\s　，,、；;：:。.！!？?]*[）)]"), ""),  # （） （，） () left by removed text
    (re.compile(r"《\s*》"), ""),  # empty book-title marks
    (re.compile(r"『\s*』"), ""),  # empty white corner brackets
    (re.compile(r"[「『]"), "“"),
    (re.compile(r"[」』]"), "”"),
]


def clean_line(line: str) -> str:
    for pattern, replacement in SUBSTITUTIONS:
        line = pattern.sub(replacement, line)
    return line.strip()


def clean_stream(lines: Iterable[str], out: TextIO) -> tuple[int, int]:
    """Write the cleaned non-empty lines; returns (lines read, lines written)."""
    seen = written = 0
    for line in lines:
        seen += 1
        if DOC_LINE.match(line):
            continue
        text = clean_line(line)
        if text:
            out.write(text + "\n")
            written += 1
    return seen, written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Regex clean-up of wikiextractor output (blog recipe).")
    ap.add_argument("inputs", nargs="*", help="wikiextractor output files (default: stdin)")
    ap.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    args = ap.parse_args(argv)
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    seen = written = 0
    try:
        if not args.inputs:
            seen, written = clean_stream(sys.stdin, out)
        for path in args.inputs:
            with open(path, encoding="utf-8") as fh:
                s, w = clean_stream(fh, out)
            seen, written = seen + s, written + w
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"blog_clean: {seen} lines read, {written} written", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
