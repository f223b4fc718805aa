"""How counts and sizes read in messages: "1 chunk", "2 chunks", "11.4 kB", not "1 chunks" or
"0.0 MB". Small on purpose; every summary line uses these two."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one: ``counted(1, "chunk")`` is "1 chunk"."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def size(n: float) -> str:
    """A byte count in SI units with three significant figures or so: "812 B", "11.4 kB",
    "64.0 MB", "3.10 GB"."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.2f} {unit}" if value < 10 else f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{n:.0f} B"


def size_range(sizes: list[int]) -> str:
    """Sizes of several parts: "11.4 kB" when all are alike in print, else "2.10–3.40 MB"."""
    low, high = size(min(sizes)), size(max(sizes))
    return low if low == high else f"{low}–{high}"
