"""wikiextractor's own text, with less regex work per page.

wikiextractor's ``clean`` builds about a hundred patterns from strings for every page: each
``dropNested`` call compiles both of its delimiters, and the loop over discarded elements
(``ref``, ``table``, ``div`` … 32 tags) calls ``re.sub(pattern, …, flags=re.IGNORECASE)`` per
tag. Each of those goes through ``re``'s own cache, whose key includes the flags, and turning an
``IGNORECASE`` flag into that key (enum arithmetic) costs more than matching a pattern against
a page of a few hundred bytes. Profiled on the sample's pages, the cache look-ups were a third of
wikiextractor's time.

Four changes, all exact: the same text out, tested page for page against wikiextractor as
shipped (the sample, and random pages of every kind of markup ``clean`` handles):

* the name ``re`` inside ``wikiextractor.extract`` is bound to :class:`CompiledOnce`, which keeps
  every compiled pattern in a plain dict keyed by (pattern, flags) and otherwise is ``re``;
* ``dropNested`` returns the text at once when its opening delimiter does not occur in it, which
  is its own first step, without compiling the closing delimiter or building the span list;
* the tag patterns of ``clean`` (discarded elements, ignored tags) are not run on a text in
  which their tag cannot occur. :class:`TagPresence` finds, in one pass per text, which of those
  tag names follow a ``<`` or ``</``; a pattern that must begin so (checked on its parsed form,
  not its spelling) cannot match a text without its name, so skipping it changes nothing. A
  typical article holds two or three of the 56 names; every other pattern was a scan of the
  whole page, most of ``clean``'s time;
* the two loops over those tags (:class:`TagLoop`) leave out the turns whose tag is absent from
  the text the loop is working on, so an absent tag costs no pattern formatting and no calls:
  with the scans skipped, those turns were still a quarter of a chunk job's time.

They apply in the process that extracts (a chunk job, or a worker of the pool); the blog-recipe
baseline of the benchmark runs wikiextractor's command line in its own process, unchanged.
Threads extracting side by side also get exact text (each reads the presence answer as one
value), though the GIL gives them no speed-up.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

try:
    import re._parser as _sre_parse
except ImportError:  # Python 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]

# The shapes of wikiextractor's tag patterns, as far as they matter: each must begin with one of
# these (in its parsed form) for the pattern to be skipped on a text without its tag name.
_TAG_HEADS = (r"<\s*{}\b", r"<\s*/\s*{}\s*>", r"<{}\b", r"</\s*{}\s*>")
_NAME_IN_SOURCE = re.compile(r"<(?:\\s\*)?/?(?:\\s\*)?([A-Za-z]+)")
# Flags under which a pattern matches more than the presence regex would find: ASCII makes \b
# end a name before a non-ASCII letter; LOCALE is for bytes.
_OTHER_MEANING = re.ASCII | re.LOCALE


def _plain(parsed: Any) -> Any:
    """A parsed pattern as nested tuples, to compare (the parser's objects have no equality)."""
    if isinstance(parsed, _sre_parse.SubPattern):
        return tuple(_plain(item) for item in parsed.data)
    if isinstance(parsed, (tuple, list)):
        return tuple(_plain(item) for item in parsed)
    return parsed


class TagPresence:
    """Which of a set of tag names occur after ``<`` or ``</`` in a text, as the regex engine
    (case-insensitive, Unicode) sees them; the last text's answer is kept, since wikiextractor
    asks about one text many times in a row.
    """

    def __init__(self, names: Iterable[str]):
        self.names = [n for n in dict.fromkeys(names) if re.fullmatch("[A-Za-z]+", n)]
        self._group = {name: k for k, name in enumerate(self.names, 1)}
        alternatives = "|".join(f"({name})" for name in self.names)
        # Group k matches name k; with \b after, one name at most fits at each `<`.
        self.regex = re.compile(rf"<\s*(?:/\s*)?(?:{alternatives})\b", re.IGNORECASE)
        self._groups: dict[tuple[Any, int], int] = {}
        # (text, groups found in it), replaced as a whole so that a thread never pairs one
        # text with another's answer
        self.state: tuple[str | None, frozenset[int]] = (None, frozenset())
        # per thread: the text the last guarded tag pattern worked on (its result, for a
        # substitution) and that pattern's group, for TagLoop
        self.seen = _Seen()

    def group_of(self, pattern: Any, flags: int) -> int:
        """The group of the name every match of ``pattern`` begins with; 0: none of ours."""
        key = (pattern, flags)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = self._analyse(pattern, flags)
        return group

    def _analyse(self, pattern: Any, flags: int) -> int:
        if not isinstance(pattern, str) or flags & _OTHER_MEANING:
            return 0
        spelled = _NAME_IN_SOURCE.match(pattern)
        if spelled is None or spelled.group(1) not in self._group:
            return 0
        name = spelled.group(1)
        try:
            parsed = _sre_parse.parse(pattern, flags)
        except re.error:
            return 0
        if parsed.state.flags & _OTHER_MEANING:  # set inline, e.g. (?a)
            return 0
        items = _plain(parsed)
        for head in _TAG_HEADS:
            expected = _plain(_sre_parse.parse(head.format(name), flags))
            if items[:len(expected)] == expected:
                return self._group[name]
        return 0

    def absent(self, group: int, text: str) -> bool:
        """Whether name ``group`` (from :meth:`group_of`; 0 answers False) cannot occur in ``text``."""
        return bool(group) and group not in self.found(text)

    def found(self, text: str) -> frozenset[int]:
        """The groups of the names that occur in ``text``."""
        seen, groups = self.state
        if text is not seen:
            groups = frozenset(m.lastindex for m in self.regex.finditer(text)) if "<" in text \
                else frozenset()
            self.state = (text, groups)
        return groups


class _Seen(threading.local):
    group = 0
    text: str | None = None


class TagLoop:
    """The items of one of ``clean``'s loops over tags (the discarded elements' names, the
    ignored tags' pattern pairs), less those whose tag cannot occur in the text the loop is
    working on.

    Even with every scan skipped, each of the 57 turns of those loops formats patterns and
    makes three calls, per page. Here a turn is left out when its tag is absent, which TagPresence
    answers from the text the previous turn's guarded pattern was given (or, for a
    substitution, produced): that is the loop's current text, since a turn left out changes
    nothing. The first turn, and any after a turn whose body did not report through a guarded
    pattern of its own tag, are always made.
    """

    def __init__(self, items: list[Any], groups: Iterable[int], presence: TagPresence):
        self.items = items  # the module's own list, given back by uninstall()
        self._pairs = list(zip(self.items, groups, strict=True))
        self._presence = presence

    def __iter__(self) -> Iterator[Any]:
        seen, found = self._presence.seen, self._presence.found
        expect = 0  # the group whose pattern reports the current text after a turn; 0: none
        present = None  # the groups in the current text; None: not known
        for item, group in self._pairs:
            if present is None and expect and seen.group == expect:
                present = found(seen.text)
            if present is not None and group and group not in present:
                continue  # its tag is not in the current text: the turn would change nothing
            seen.group = 0
            expect, present = group, None
            yield item

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, k: Any) -> Any:
        return self.items[k]

    def __reduce__(self) -> tuple:
        return list, (self.items,)


class _GuardedPattern:
    """A compiled tag pattern whose ``finditer`` skips the scan where its tag cannot occur (the
    only method wikiextractor's ``clean`` calls on its ignored-tag patterns)."""

    def __init__(self, pattern: re.Pattern, presence: TagPresence):
        self.pattern = pattern
        self._presence = presence
        self._group = presence.group_of(pattern.pattern, pattern.flags & ~re.UNICODE)
        if not self._group:
            self.finditer = pattern.finditer  # type: ignore[method-assign]

    def finditer(self, text: str, *span: int) -> Iterator[re.Match]:
        if span:
            return self.pattern.finditer(text, *span)
        seen = self._presence.seen
        seen.text, seen.group = text, self._group
        if self._group in self._presence.found(text):
            return self.pattern.finditer(text)
        return iter(())

    def __getattr__(self, name: str) -> Any:
        if name == "pattern":  # not set yet (copy, unpickling): not an attribute of the pattern
            raise AttributeError(name)
        return getattr(self.pattern, name)

    def __reduce__(self) -> tuple:
        # Pickled (e.g. an Extractor sent to a spawned worker), it is the plain pattern again.
        return re.compile, (self.pattern.pattern, self.pattern.flags)


class CompiledOnce:
    """``re``, with compiled patterns kept in a dict that never evicts.

    wikiextractor uses a bounded set of patterns (its own, plus a few built from tag names), so
    the dict stays small; ``re``'s cache also keeps them, but is slower to ask.
    """

    def __init__(self, presence: TagPresence | None = None) -> None:
        self.presence = presence
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
        presence = self.presence
        if presence is not None:
            group = presence._groups.get((pattern, flags))
            if group is None:
                group = presence.group_of(pattern, flags)
            if group:
                # a tag pattern whose tag is not in the text has nothing to replace
                result = string if presence.absent(group, string) \
                    else self.compile(pattern, flags).sub(repl, string, count)
                seen = presence.seen
                seen.text, seen.group = result, group
                return result
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
    presence = patterns.presence

    def dropNested(text: str, openDelim: str, closeDelim: str) -> str:  # noqa: N802, N803
        # wikiextractor's dropNested begins: openRE.search(text, 0); if not found, return text.
        if presence is not None and presence.absent(presence.group_of(openDelim, re.IGNORECASE), text):
            return text
        if patterns.compile(openDelim, re.IGNORECASE).search(text) is None:
            return text
        return drop_nested(text, openDelim, closeDelim)

    dropNested.__wrapped__ = drop_nested  # type: ignore[attr-defined]
    return dropNested


def _clean_with_tag_loop(clean: Callable[..., str], ignored: TagLoop) -> Callable[..., str]:
    """``clean`` run with ``ignored`` as the extractor's ignored-tag patterns, when it has the
    default ones (an Extractor copies them into a list of its own, so a loop object given to it
    would be turned into a list at once)."""
    default = ignored.items

    def clean_(extractor: Any, text: str, *args: Any, **kwargs: Any) -> str:
        own = extractor.ignored_tag_patterns
        # (a list compares its items by identity first: the default ones never reach __eq__)
        if type(own) is not list or own != default:
            return clean(extractor, text, *args, **kwargs)
        extractor.ignored_tag_patterns = ignored
        try:
            return clean(extractor, text, *args, **kwargs)
        finally:
            extractor.ignored_tag_patterns = own

    clean_.__wrapped__ = clean  # type: ignore[attr-defined]
    return clean_


def install() -> None:
    """Apply the changes to ``wikiextractor.extract`` (once per process; idempotent)."""
    import wikiextractor.extract as module

    if isinstance(module.re, CompiledOnce):
        return
    presence = TagPresence([*module.discardElements, *module.ignoredTags])
    patterns = CompiledOnce(presence)
    module.dropNested = _drop_nested_when_present(module.dropNested, patterns)
    module.re = patterns
    # Every Extractor copies this list (its ignored_tag_patterns), unless given its own.
    guarded = [(_GuardedPattern(left, presence), _GuardedPattern(right, presence))
               for left, right in module._DEFAULT_IGNORED_TAG_PATTERNS]
    module._DEFAULT_IGNORED_TAG_PATTERNS = guarded
    pair_groups = [left._group if left._group == right._group else 0 for left, right in guarded]
    module.clean = _clean_with_tag_loop(module.clean, TagLoop(guarded, pair_groups, presence))
    module.discardElements = TagLoop(
        module.discardElements, [presence._group.get(tag, 0) for tag in module.discardElements], presence)


def uninstall() -> None:
    """Undo :func:`install` (for tests that compare against wikiextractor as shipped)."""
    import wikiextractor.extract as module

    if isinstance(module.re, CompiledOnce):
        module._DEFAULT_IGNORED_TAG_PATTERNS = [
            (left.pattern, right.pattern) for left, right in module._DEFAULT_IGNORED_TAG_PATTERNS]
        module.discardElements = module.discardElements.items
        module.clean = module.clean.__wrapped__
        module.re = re
        module.dropNested = module.dropNested.__wrapped__
