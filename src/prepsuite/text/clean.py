"""Regex cleaning of extracted wiki text, as an ordered table of named rules.

Order matters and is part of the contract: entities are decoded before tags are removed (so
``&lt;ref&gt;`` cannot survive as ``<ref>``), language-conversion markup is resolved before
brackets are judged empty (``（-{}-）`` is empty only afterwards), and whitespace is normalised
last. Each rule counts its substitutions, so ``stats.json`` shows which rules did the work.

Extra rules come from a YAML file (``clean.rules_file`` in the workflow config, ``--rules`` on the
command line)::

    - name: drop_coordinates
      pattern: '坐标：[0-9.°′″NSEW ]+'
      replace: ''
      description: coordinates left over from infobox templates
      before: normalize_whitespace    # optional; default: just before normalize_whitespace

"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from ..stats import StageStats
from ..textio import Record, RejectLog

Replacement = str | Callable[[re.Match[str]], str]

#: Rounds of a ``repeat`` rule on one document: nesting deeper than this is not markup.
MAX_REPEATS = 1000


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    replace: Replacement
    description: str
    repeat: bool = False  # apply until nothing changes (nested constructs)
    # substrings without one of which the pattern cannot match: the rule is skipped (most rules
    # find nothing in most documents, and a substring test costs far less than a regex scan)
    trigger: tuple[str, ...] = ()
    #: What ``pattern`` and ``replace`` do, done by str methods instead (for a rule that swaps
    #: single characters, where a regex calls back into Python for every match); tested to agree.
    direct: Callable[[str], tuple[str, int]] | None = None

    def triggered(self, text: str) -> bool:
        """Whether the pattern may match ``text``: a rule without triggers always may."""
        return not self.trigger or any(t in text for t in self.trigger)

    def apply(self, text: str) -> tuple[str, int]:
        if not self.triggered(text):
            return text, 0
        return self.substitute(text)

    def substitute(self, text: str) -> tuple[str, int]:
        """``apply`` without the trigger test (the caller made it)."""
        if self.direct is not None:
            return self.direct(text)
        new, n = self.pattern.subn(self.replace, text)
        # an empty match "substitutes" without changing anything: that is nothing changing
        if not (self.repeat and n and new != text):
            return new, n
        if self.trigger and len(new) <= len(text) and not self.triggered(new):
            return new, n  # none of its triggers is left: another round cannot match
        return self._repeat(text, new, n)

    def _repeat(self, text: str, new: str, total: int) -> tuple[str, int]:
        """Apply again until nothing changes (``new`` is the first round's result of ``text``)."""
        size = len(text)
        for _ in range(MAX_REPEATS):
            if len(new) > size:  # repeated, it would grow without end
                raise ValueError(f"cleaning rule {self.name!r} makes the text longer, and repeat: true "
                                 "would apply it forever (repeat is for markup that nests)")
            text = new
            new, n = self.pattern.subn(self.replace, text)
            total += n
            if not (n and new != text):
                return new, total
        raise ValueError(f"cleaning rule {self.name!r} still changes the text after {MAX_REPEATS} "
                         "repetitions (repeat: true needs a replacement that stops matching)")


# --- MediaWiki language conversion: -{...}- ------------------------------------------------

#: Variant preference for simplified output: the first present one is kept.
SIMPLIFIED_VARIANTS = ("zh-hans", "zh-cn", "zh-sg", "zh-my")
_DROPPED_FLAGS = frozenset("HTD-")  # rules that only declare conversions, or describe/remove them
_VARIANT_PART = re.compile(r"^\s*(zh(?:-[a-z]+)?)\s*:(.*)$", re.S)
_FLAGS = re.compile(r"^\s*([A-Za-z;\-\s]{1,12})\|(.*)$", re.S)


def resolve_conversion(body: str) -> str:
    """The text a simplified-Chinese reader sees for the markup ``-{body}-``."""
    flagged = _FLAGS.match(body)
    if flagged:
        flags = {f.strip() for f in flagged.group(1).split(";") if f.strip()}
        body = flagged.group(2)
        if flags & _DROPPED_FLAGS:
            return ""
        if "R" in flags:
            return body
    variants: list[tuple[str, str]] = []
    for part in body.split(";"):
        m = _VARIANT_PART.match(part)
        if m:
            variants.append((m.group(1), m.group(2).strip()))
        elif part.strip() and variants:
            # A ';' inside a variant's own text: glue it back to the previous variant.
            lang, value = variants[-1]
            variants[-1] = (lang, f"{value};{part.strip()}")
        elif part.strip():
            return body  # not a variant list: -{A}- keeps A verbatim (';' included)
    if not variants:
        return body
    by_lang = dict(variants)
    for lang in SIMPLIFIED_VARIANTS:
        if lang in by_lang:
            return by_lang[lang]
    return variants[0][1]


# Innermost -{...}- first (no nested -{ or }- inside), repeated so nested markup resolves outward.
# The body is runs of characters other than '-' and '}', joined by a '-' not before '{' or a '}'
# not before '-': the strings a tempered dot, (?:(?!-\{|\}-).)*, takes, found without a
# look-ahead at every character (a third faster; tested against it).
_CONVERSION = re.compile(r"-\{([^-}]*(?:(?:-(?!\{)|\}(?!-))[^-}]*)*)\}-")

# --- brackets --------------------------------------------------------------------------------

_PUNCT_OR_SPACE = r"[\s\u3000,，、;；:：.。·・/／\-—–_!！?？'\"“”‘’…|]*"
_EMPTY_BRACKETS = re.compile(rf"[（(]{_PUNCT_OR_SPACE}[）)]")


_HTML_TAGS = "|".join((
    "abbr", "b", "big", "blockquote", "br", "center", "cite", "code", "dd", "del", "div", "dl",
    "dt", "em", "font", "gallery", "hr", "i", "includeonly", "ins", "kbd", "li", "math",
    "noinclude", "nowiki", "ol", "onlyinclude", "p", "poem", "pre", "rp", "rt", "ruby", "s",
    "score", "section", "small", "source", "span", "strike", "strong", "sub", "sup",
    "syntaxhighlight", "table", "td", "templatestyles", "th", "timeline", "tr", "tt", "u", "ul",
    "var", "wbr",
))


def _link(m: re.Match[str]) -> str:
    target, _, label = m.group(1).rpartition("|")
    return label or target


def swap_characters(pairs: dict[str, str]) -> Callable[[str], tuple[str, int]]:
    """A rule's ``direct`` substitution: each key (one character) replaced by its value, and the
    number of replacements, as the alternation of the keys with ``pairs[m.group(0)]`` gives when
    no value holds a key."""
    items = tuple(pairs.items())

    def swap(text: str) -> tuple[str, int]:
        n = 0
        for old, new in items:
            k = text.count(old)
            if k:
                text = text.replace(old, new)
                n += k
        return text, n

    return swap


def _build_builtin_rules() -> list[Rule]:
    def rule(name: str, pattern: str, replace: Replacement, description: str,
             flags: int = 0, repeat: bool = False, trigger: tuple[str, ...] = (),
             direct: Callable[[str], tuple[str, int]] | None = None) -> Rule:
        return Rule(name, re.compile(pattern, flags), replace, description, repeat, trigger, direct)

    corner = {"「": "“", "」": "”"}
    white_corner = {"『": "“", "』": "”"}

    return [
        rule("doc_tags", r"^[ \t]*</?doc\b[^>\n]*>[ \t]*$", "",
             "wikiextractor's <doc …> and </doc> lines", re.M, trigger=("<doc", "</doc")),
        rule("html_entities", r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});",
             lambda m: html.unescape(m.group(0)), "HTML entities decoded (&amp; &nbsp; &#x4E2D; …)", trigger=("&",)),
        rule("refs", r"<ref\b[^>]*/>|<ref\b[^>]*>.*?</ref\s*>|<references\b[^>]*/?>",
             "", "<ref>…</ref> footnotes and <references/>", re.S | re.I, trigger=("<",)),
        rule("html_comments", r"<!--.*?-->", "", "HTML comments", re.S, trigger=("<!--",)),
        rule("lang_conversion", _CONVERSION.pattern, lambda m: resolve_conversion(m.group(1)),
             "-{…}- language conversion resolved to its simplified variant", repeat=True,
             trigger=("-{",)),
        rule("html_tags", rf"</?(?:{_HTML_TAGS})\b[^<>]*/?>", "",
             "remaining HTML tags (<br>, <sup>, <span …>); their text is kept", re.I, trigger=("<",)),
        rule("templates", r"\{\{[^{}]*\}\}", "", "templates {{…}} left unexpanded", repeat=True, trigger=("{{",)),
        rule("tables", r"^[ \t]*(?:\{\||\|\}|\||!).*$", "",
             "wiki table lines ({| |- |+ |} and | or ! cells) and | key = … parameter lines", re.M,
             trigger=("|", "!")),
        rule("links", r"\[\[([^\[\]]*)\]\]", _link, "[[target|label]] keeps the label", repeat=True,
             trigger=("[[",)),
        rule("stray_markup", r"\[\[|\]\]|\{\{|\}\}|-\{|\}-|'{2,}", "",
             "unpaired [[ ]] {{ }} -{ }- and bold/italic quotes",
             trigger=("[[", "]]", "{{", "}}", "-{", "}-", "''")),
        rule("empty_corner_quotes", r"「[\s\u3000]*」|『[\s\u3000]*』", "", "empty 「」 and 『』 removed",
             trigger=("「", "『")),
        rule("corner_quotes", r"「|」", lambda m: corner[m.group(0)],
             "「」 → “”", trigger=("「", "」"), direct=swap_characters(corner)),
        rule("white_corner_quotes", r"『|』", lambda m: white_corner[m.group(0)],
             "『』 → “”", trigger=("『", "』"), direct=swap_characters(white_corner)),
        rule("empty_book_title", r"《[\s\u3000]*》", "", "empty 《》 removed", trigger=("《",)),
        rule("empty_brackets", _EMPTY_BRACKETS.pattern, "",
             "() and （） holding only punctuation or spaces removed", repeat=True,
             trigger=("(", "（")),
        rule("normalize_whitespace", r"[\s\u3000\u200b\ufeff\x00-\x08\x0e-\x1f\x7f]+", " ",
             "runs of whitespace and control characters → one space (documents become one line)"),
    ]


BUILTIN_RULES: tuple[Rule, ...] = tuple(_build_builtin_rules())
_NORMALIZE = BUILTIN_RULES[-1]
# Outside these, the normalising rule's class is exactly what str.split() splits on (both use
# Python's own notion of whitespace), so the C-level split and join do its work.
_NOT_SPLIT_SPACE = re.compile(r"[\u200b\ufeff\x00-\x08\x0e-\x1b\x7f]")


def _normalize_whitespace(text: str) -> tuple[str, int]:
    """What ``normalize_whitespace`` gives, stripped, with its count of runs replaced."""
    if _NOT_SPLIT_SPACE.search(text):
        new, n = _NORMALIZE.substitute(text)
        return new.strip(), n
    parts = text.split()
    if not parts:
        return "", 1 if text else 0
    return " ".join(parts), len(parts) - 1 + text[0].isspace() + text[-1].isspace()


def load_rules(rules_file: str | Path | None = None) -> list[Rule]:
    """The built-in table, with the rules of ``rules_file`` (YAML) inserted where they ask."""
    rules = list(BUILTIN_RULES)
    if not rules_file:
        return rules
    import yaml  # only for a rules file: every chunk job imports this module

    path = Path(rules_file)
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except FileNotFoundError:
        raise ValueError(f"{path}: rules file not found") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 (byte {err.start})") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of rules")
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or "name" not in entry or "pattern" not in entry:
            raise ValueError(f"{path}: rule {i}: needs at least 'name' and 'pattern'")
        where = f"{path}: rule {i} ({entry['name']})"
        try:
            pattern = re.compile(str(entry["pattern"]), re.M)
        except re.error as err:
            raise ValueError(f"{where}: bad pattern: {err}") from None
        replace = entry.get("replace")
        replace = "" if replace is None else str(replace)  # `replace:` left empty: delete
        try:
            pattern.sub(replace, "")  # parses the template: \1 or \g<name> the pattern lacks
        except (re.error, IndexError) as err:
            raise ValueError(f"{where}: bad replace {replace!r}: {err}") from None
        repeat = entry.get("repeat", False)
        if not isinstance(repeat, bool):
            raise ValueError(f"{where}: repeat must be true or false, not {repeat!r}")
        new = Rule(str(entry["name"]), pattern, replace, str(entry.get("description", "user rule")), repeat)
        anchor = entry.get("before", "normalize_whitespace")
        names = [r.name for r in rules]
        if anchor not in names:
            raise ValueError(f"{path}: rule {i} ({new.name}): no rule named {anchor!r} to go before")
        rules.insert(names.index(anchor), new)
    return rules


def clean_text(text: str, rules: Iterable[Rule] = BUILTIN_RULES,
               hits: Counter[str] | None = None) -> str:
    """Apply the rules in order; ``hits`` (if given) counts substitutions per rule."""
    # Rule.apply's work, inlined: this loop runs some 16 rules for every document of the dump,
    # and most rules are skipped by their trigger test, which is cheaper than a method call.
    for r in rules:
        trigger = r.trigger
        if trigger:
            for t in trigger:
                if t in text:
                    break
            else:
                continue
        if r is _NORMALIZE:
            text, n = _normalize_whitespace(text)
        else:
            text, n = r.substitute(text)
        if n and hits is not None:
            hits[r.name] += n
    return text.strip()


def clean_records(records: Iterable[Record], stats: StageStats, rules: list[Rule] | None = None,
                  rejects: RejectLog | None = None, source: str = "-",
                  keep_empty: bool = False) -> Iterator[Record]:
    """Clean a stream of documents; documents left empty are dropped, counted and logged."""
    rules = rules if rules is not None else list(BUILTIN_RULES)
    for rec in records:
        started = perf_counter()
        stats.count_in(rec.text, rec.size)
        cleaned = clean_text(rec.text, rules, stats.counters)
        stats.seconds += perf_counter() - started
        if not cleaned and not keep_empty:
            stats.rejected["empty_after_cleaning"] += 1
            if rejects is not None:
                fields = rec.fields or {}
                rejects.add(source, rec.lineno, "empty_after_cleaning", fields.get("id", ""),
                            fields.get("title", ""))
            continue
        yield rec.with_text(cleaned, stats.count_out(cleaned))


def describe_rules(rules: Iterable[Rule] = BUILTIN_RULES) -> list[tuple[str, str]]:
    return [(r.name, r.description) for r in rules]
