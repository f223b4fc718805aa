"""A fast wikitext → plain text converter: the ``fast`` extraction engine.

wikiextractor spends most of its time on per-page machinery (template frames, magic words,
regexes compiled on the fly); on a dump of many small pages that caps extraction near 1–3 MB/s
per core. This converter is a short, ordered list of precompiled regexes that removes what the
cleaning rules do not: tables, file/category/interwiki links, external links, headings, list
markers, magic words and tag blocks whose content is not prose (math, gallery, …). Templates,
refs, ordinary links, bold/italic, entities and ``-{…}-`` markup are handled here or by the
cleaning rules that run after extraction, so the corpus satisfies the same guarantees whatever
the engine.
"""

from __future__ import annotations

import re

# Namespaces whose links are not prose (English and Chinese names, as zhwiki uses both).
DROPPED_LINK_NAMESPACES = frozenset(
    n.lower() for n in (
        "File", "Image", "Media", "Category", "文件", "檔案", "档案", "图像", "圖像", "媒体文件",
        "分类", "分類", "Template", "模板", "Wikipedia", "维基百科", "Help", "帮助", "Portal",
        "主题", "Special", "特殊", "User", "用户", "Module", "模块", "wikt", "wiktionary", "s",
        "commons", "wikisource", "q", "n", "b", "v", "voy",
    )
)
_INTERWIKI = re.compile(r"^[a-z]{2,3}(?:-[a-z]+)*$")

_NON_PROSE_TAGS = (
    "math", "gallery", "timeline", "score", "syntaxhighlight", "source", "hiero", "chem", "ce",
    "graph", "mapframe", "maplink", "templatedata", "imagemap", "categorytree", "inputbox",
)

_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_REF = re.compile(r"<ref\b[^>]*/>|<ref\b[^>]*>.*?</ref\s*>|<references\b[^>]*/?>(?:.*?</references>)?",
                  re.S | re.I)
_BLOCK = re.compile(rf"<({'|'.join(_NON_PROSE_TAGS)})\b[^>]*>.*?</\1\s*>", re.S | re.I)
_TEMPLATE = re.compile(r"\{\{(?:(?!\{\{|\}\}).)*\}\}", re.S)
_TABLE = re.compile(r"\{\|(?:(?!\{\||\|\}).)*\|\}", re.S)
_LINK = re.compile(r"\[\[([^\[\]]*)\]\]")
_EXTERNAL = re.compile(r"\[(?:https?:|ftp:)?//[^\s\]]*\s*([^\]]*)\]")
_HEADING = re.compile(r"^(=+)\s*(.*?)\s*\1\s*$", re.M)
_LIST = re.compile(r"^[*#:;]+\s*", re.M)
_MAGIC = re.compile(r"__[A-Z_]+__")
_RULE = re.compile(r"^-{4,}\s*$", re.M)
# two or more quotes, spelt so that the pattern opens with a literal: re then skips from quote
# to quote instead of trying the repeat at every character (twice as fast)
_QUOTES = re.compile(r"''+")
_BLANKS = re.compile(r"[ \t]*\n[ \t\n]*")
_NEWLINE_RUN = re.compile(r"\n[ \t\n]*")  # _BLANKS where no line ends in a space or tab


def _has_list_line(text: str) -> bool:
    r"""Whether a line starts with a list marker (re's ``(?:^|\n)[*#:;]``, tried at every
    character, took twice as long as these substring tests)."""
    return (text.startswith(("*", "#", ":", ";")) or "\n*" in text or "\n#" in text
            or "\n:" in text or "\n;" in text)


def _blank_lines(text: str) -> str:
    r"""``_BLANKS.sub("\n", text)``: paragraphs one newline apart, without the spaces and tabs
    around it. Where no line ends in a space or tab, every match starts at a newline, and
    _NEWLINE_RUN, which opens with that literal, finds them without trying each character."""
    if " \n" in text or "\t\n" in text:
        return _BLANKS.sub("\n", text)
    return _NEWLINE_RUN.sub("\n", text) if "\n" in text else text


def _link(m: re.Match[str]) -> str:
    inner = m.group(1)
    target, _, label = inner.partition("|")
    if target.startswith(":"):  # [[:Category:X]] is an ordinary link to that page
        target = target[1:]
    elif ":" in target:
        prefix = target.split(":", 1)[0].strip().lower()
        if prefix in DROPPED_LINK_NAMESPACES or _INTERWIKI.match(prefix):
            return ""
    if label:
        return label.rpartition("|")[2] if "|" in label else label
    return target.split("#", 1)[0] if not target.startswith("#") else target[1:]


def _heading(m: re.Match[str]) -> str:
    """A heading becomes a line of its own, its text only (wikiextractor's own output ends it
    in '.', which became a stray `历史 .` token in the corpus; see extract.py)."""
    return m.group(2)


def _no_heading(m: re.Match[str]) -> str:
    return ""


def _repeat(pattern: re.Pattern[str], repl, text: str, mark: str) -> str:
    """``pattern`` replaced until it no longer matches (constructs nest); ``mark`` opens every
    match, so once it is gone no further pass is needed."""
    while True:
        text, n = pattern.subn(repl, text)
        if not n or mark not in text:
            return text


def wikitext_to_text(text: str, keep_headings: bool = True) -> str:
    """Plain text of one page's wikitext, paragraphs separated by newlines; section headings
    are lines of their own (``keep_headings``) or left out."""
    # each pass only when the text holds what it looks for: most pages lack most constructs
    if "<" in text:
        text = _COMMENT.sub("", text)
        text = _REF.sub("", text)
        text = _BLOCK.sub("", text)
    if "{{" in text:
        text = _repeat(_TEMPLATE, "", text, "{{")
    if "{|" in text:
        text = _repeat(_TABLE, "", text, "{|")
    if "[[" in text:
        text = _repeat(_LINK, _link, text, "[[")
    if "[" in text:
        text = _EXTERNAL.sub(r"\1", text)
    if "=" in text:
        text = _HEADING.sub(_heading if keep_headings else _no_heading, text)
    if _has_list_line(text):
        text = _LIST.sub("", text)
    if "__" in text:
        text = _MAGIC.sub("", text)
    if "----" in text:
        text = _RULE.sub("", text)
    if "''" in text:
        text = _QUOTES.sub("", text)
    return _blank_lines(text).strip()
