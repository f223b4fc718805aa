"""wikiextractor with its regular expressions compiled once per process.

wikiextractor's ``clean`` builds about a hundred patterns from strings for every page: each
``dropNested`` call compiles both of its delimiters, and the loop over discarded elements
(``ref``, ``table``, ``div`` … 32 tags) calls ``re.sub(pattern, …, flags=re.IGNORECASE)`` per
tag. Each of those goes through ``re``'s own cache, whose key includes the flags, and turning an
``IGNORECASE`` flag into that key (enum arithmetic) costs more than matching a pattern against
a page of a few hundred bytes. Profiled on the sample's pages, the cache look-ups were a third of
wikiextractor's time.

Two changes, both exact (the same ``Pattern`` objects, the same calls on them, the same text;
tested against wikiextractor as shipped, page for page):

* the name ``re`` inside ``wikiextractor.extract`` is bound to :class:`CompiledOnce`, which keeps
  every compiled pattern in a plain dict keyed by (pattern, flags) and otherwise is ``re``;
* ``dropNested`` returns the text at once when its opening delimiter does not occur in it, which
  is its own first step, without compiling the closing delimiter or building the span list.

They apply in the process that extracts (a chunk job, or a worker of the pool); the blog-recipe
baseline of the benchmark runs wikiextractor's command line in its own process, unchanged.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

class CompiledOnce:
    """``re``, with compiled patterns kept in a dict that never evicts.

    wikiextractor uses a bounded set of patterns (its own, plus a few built from tag names), so
    the dict stays small; ``re``'s cache also keeps them, but is slower to ask.
    """

    def __init__(self) -> None:
        # re's names (flags, error, escape …) as plain attributes: wikiextractor reads
        # re.IGNORECASE on every call, too often to go through __getattr__.
        self.__dict__.update((name, getattr(re, name)) for name in re.__all__
                             if not hasattr(CompiledOnce, name))
        self._patterns: dict[tuple[Any, int], re.Pattern] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    def compile(self, pattern: Any, flags: int = 0) -> re.Pattern:
        # The key needs no type: a str, bytes or Pattern never equals one of the others. A
        # Pattern with flags makes re.compile raise, as it should, every time.
        try:
            return self._patterns[pattern, flags]
        except KeyError:
            compiled = self._patterns[pattern, flags] = re.compile(pattern, flags)
            return compiled

    def sub(self, pattern: Any, repl: Any, string: str, count: int = 0, flags: int = 0) -> str:
        return self.compile(pattern, flags).sub(repl, string, count)

    def subn(self, pattern: Any, repl: Any, string: str, count: int = 0,
             flags: int = 0) -> tuple[str, int]:
        return self.compile(pattern, flags).subn(repl, string, count)

    def search(self, pattern: Any, string: str, flags: int = 0) -> re.Match | None:
        return self.compile(pattern, flags).search(string)

    def match(self, pattern: Any, string: str, flags: int = 0) -> re.Match | None:
        return self.compile(pattern, flags).match(string)

    def fullmatch(self, pattern: Any, string: str, flags: int = 0) -> re.Match | None:
        return self.compile(pattern, flags).fullmatch(string)

    def finditer(self, pattern: Any, string: str, flags: int = 0):
        return self.compile(pattern, flags).finditer(string)

    def findall(self, pattern: Any, string: str, flags: int = 0) -> list:
        return self.compile(pattern, flags).findall(string)

    def split(self, pattern: Any, string: str, maxsplit: int = 0, flags: int = 0) -> list:
        return self.compile(pattern, flags).split(string, maxsplit)


def _drop_nested_when_present(drop_nested: Callable[[str, str, str], str],
                              patterns: CompiledOnce) -> Callable[[str, str, str], str]:
    def dropNested(text: str, openDelim: str, closeDelim: str) -> str:  # noqa: N802, N803
        # wikiextractor's dropNested begins: openRE.search(text, 0); if not found, return text.
        if patterns.compile(openDelim, re.IGNORECASE).search(text) is None:
            return text
        return drop_nested(text, openDelim, closeDelim)

    dropNested.__wrapped__ = drop_nested  # type: ignore[attr-defined]
    return dropNested


def install() -> None:
    """Apply both changes to ``wikiextractor.extract`` (once per process; idempotent)."""
    import wikiextractor.extract as module

    if isinstance(module.re, CompiledOnce):
        return
    patterns = CompiledOnce()
    module.dropNested = _drop_nested_when_present(module.dropNested, patterns)
    module.re = patterns


def uninstall() -> None:
    """Undo :func:`install` (for tests that compare against wikiextractor as shipped)."""
    import wikiextractor.extract as module

    if isinstance(module.re, CompiledOnce):
        module.re = re
        module.dropNested = module.dropNested.__wrapped__
