"""The figures of the workflow's report, drawn with matplotlib from files the workflow writes.

Each function reads what a target already left (``stats.json``, a corpus profile, a shard
directory's ``manifest.json`` and ``index.db``, word2vec's ``train.json`` and ``eval.json``) and
writes PNGs; no figure needs the data itself again. Figures are made with matplotlib's
object API on the Agg canvas (no display, no global pyplot state) and saved without the
version stamp, so the same inputs give the same bytes.

Chinese tokens need a font with CJK glyphs: the first one matplotlib finds among common
ones (Noto Sans CJK, WenQuanYi, Source Han, …) is used; without one the token labels are left
out and the figure says how to get them (``prep inspect corpus.txt`` lists them too).
"""

from __future__ import annotations

import json
import os
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..textio import InputError

DPI = 100
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
              "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Droid Sans Fallback", "AR PL UMing CN",
              "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "Noto Sans CJK JP")
_IN, _OUT, _EXTRA = "#9ecae1", "#3182bd", "#fd8d3c"


# --- matplotlib plumbing ---------------------------------------------------------------------


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of a font with Chinese glyphs that matplotlib can use, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FONTS if name in installed), None)


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    family = ["DejaVu Sans"] + ([cjk_font()] if cjk_font() else [])
    with matplotlib.rc_context({"font.family": family, "font.size": 9, "axes.spines.top": False,
                                "axes.spines.right": False, "svg.hashsalt": "prepsuite"}):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
            yield


def _figure(width: float = 8.0, height: float = 4.0, ncols: int = 1):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, ncols)
    return fig, axes


def _save(fig: Any, path: Path) -> Path:
    """Write ``fig`` as PNG, atomically, without the version stamp (reproducible bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", metadata={"Software": None})
    os.replace(tmp, path)
    return path


def _read_json(path: str | os.PathLike[str], what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except ValueError as e:
        raise InputError(f"{path}: not {what} ({e})") from None


def _no_data(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, wrap=True, color="0.3")
    ax.set_xticks([])
    ax.set_yticks([])


def _whole_numbers(axis: Any) -> None:
    """Counts have whole-number ticks (no "2.5 images")."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _label_bars(ax: Any, bars: Any, values: list[float], fmt: str = "{:,}") -> None:
    for bar, value in zip(bars, values):
        ax.annotate(fmt.format(value), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=7, xytext=(0, 1), textcoords="offset points")


# --- corpus ------------------------------------------------------------------------------------


def _stages(stats: dict[str, Any], path: Any) -> list[dict[str, Any]]:
    stages = stats.get("stages") if isinstance(stats, dict) else None
    if not isinstance(stages, list) or not all(isinstance(s, dict) and "stage" in s for s in stages):
        raise InputError(f"{path}: not a corpus stats.json (no 'stages' list)")
    return stages


def plot_lengths(profile: dict[str, Any], path: Path) -> Path:
    """Documents per length bin (log scale), in characters and in tokens, median marked."""
    with _style():
        fig, axes = _figure(9, 3.6, 2)
        for ax, key, unit in zip(axes, ("chars", "tokens"), ("characters", "tokens")):
            hist = profile[key]["histogram"]
            if not hist["counts"]:
                _no_data(ax, f"every document is empty ({hist['zero']:,})")
                continue
            edges, counts = hist["edges"], hist["counts"]
            ax.stairs(counts, edges, fill=True, color=_OUT, alpha=0.85)
            ax.set_xscale("log")
            median = profile[key]["percentiles"]["p50"]
            ax.axvline(max(median, edges[0]), color=_EXTRA, linestyle="--", linewidth=1)
            ax.annotate(f"median {median:,}", (max(median, edges[0]), max(counts)), color=_EXTRA,
                        fontsize=8, xytext=(4, -10), textcoords="offset points")
            ax.set_xlabel(f"document length, {unit} (log scale)")
            ax.set_ylabel("documents")
            _whole_numbers(ax.yaxis)
            empty = f", {hist['zero']:,} empty" if hist["zero"] else ""
            ax.set_title(f"{unit}: p10 {profile[key]['percentiles']['p10']:,}, "
                         f"p90 {profile[key]['percentiles']['p90']:,}{empty}")
        fig.suptitle(f"Document lengths, {profile['documents']:,} documents")
        return _save(fig, path)


def _rejects(stages: list[dict[str, Any]]) -> dict[str, int]:
    """``stage: reason`` → documents dropped, extraction's skipped pages included."""
    found: dict[str, int] = {}
    for s in stages:
        for reason, n in sorted((s.get("rejected") or {}).items()):
            found[f"{s['stage']}: {reason}"] = found.get(f"{s['stage']}: {reason}", 0) + int(n)
        for name, n in sorted((s.get("counters") or {}).items()):
            if name.startswith("skipped_") and n:
                found[f"{s['stage']}: {name}"] = int(n)
    return found


def plot_rejects(stats: dict[str, Any], path: Path, source: Any = "stats.json") -> Path:
    """Documents thrown away, by stage and reason, most first."""
    found = _rejects(_stages(stats, source))
    with _style():
        fig, ax = _figure(8, max(2.2, 0.9 + 0.32 * len(found)))
        if not found:
            _no_data(ax, "nothing was thrown away")
        else:
            items = sorted(found.items(), key=lambda kv: kv[1])
            bars = ax.barh([k for k, _ in items], [v for _, v in items], color=_EXTRA)
            for bar, (_, value) in zip(bars, items):
                ax.annotate(f"{value:,}", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                            va="center", fontsize=7, xytext=(2, 0), textcoords="offset points")
            ax.set_xlabel("documents (pages, for extraction)")
            _whole_numbers(ax.xaxis)
        ax.set_title(f"Rejected and skipped, {sum(found.values()):,} in all")
        return _save(fig, path)


def plot_stages(stats: dict[str, Any], path: Path, source: Any = "stats.json") -> Path:
    """Documents and characters into and out of every stage, in pipeline order."""
    import numpy as np

    stages = _stages(stats, source)
    names = [s["stage"] for s in stages]
    x = np.arange(len(names))
    with _style():
        fig, axes = _figure(10, 3.8, 2)
        for ax, key, unit in zip(axes, ("docs", "chars"), ("documents", "characters")):
            ins = [int(s.get(f"{key}_in", 0)) for s in stages]
            outs = [int(s.get(f"{key}_out", 0)) for s in stages]
            _label_bars(ax, ax.bar(x - 0.2, ins, 0.4, label="in", color=_IN), ins)
            _label_bars(ax, ax.bar(x + 0.2, outs, 0.4, label="out", color=_OUT), outs)
            ax.set_xticks(x, names)
            ax.set_ylabel(unit)
            ax.set_title(f"{unit} in and out")
            ax.legend(frameon=False, fontsize=8)
        fig.suptitle("Per stage (extraction reads XML: its input is pages, not text)")
        return _save(fig, path)


def plot_throughput(stats: dict[str, Any], path: Path, source: Any = "stats.json") -> Path:
    """MB of input per second of a stage's own time, summed over its chunk jobs: per core, since
    each chunk job is one process."""
    stages = _stages(stats, source)
    names = [s["stage"] for s in stages]
    rates = [float(s.get("bytes_in", 0)) / 1e6 / s["seconds"] if s.get("seconds") else 0.0 for s in stages]
    with _style():
        fig, ax = _figure(8, 3.6)
        _label_bars(ax, ax.bar(names, rates, color=_OUT), rates, "{:.1f}")
        ax.set_ylabel("MB/s per core (input bytes / stage seconds)")
        positive = [r for r in rates if r > 0]
        if positive and max(positive) / min(positive) > 30:
            ax.set_yscale("log")
        slowest = names[min(range(len(rates)), key=lambda i: rates[i] or float("inf"))] if names else ""
        ax.set_title(f"Throughput per stage; slowest: {slowest}")
        return _save(fig, path)


def plot_tokens(profile: dict[str, Any], path: Path, top: int = 30) -> Path:
    """The most frequent tokens, and every token's count against its rank on log-log axes."""
    tokens = profile["top_tokens"][:top]
    curve = profile["rank_frequency"]
    total = profile.get("tokens_total") or sum(c for _, c in profile["top_tokens"]) or 1
    with _style():
        fig, (left, right) = _figure(11, max(4.2, 0.6 + 0.17 * len(tokens)), 2)
        if tokens:
            shares = [100 * c / total for _, c in tokens]
            left.barh(range(len(tokens)), shares, color=_OUT)
            if cjk_font():
                left.set_yticks(range(len(tokens)), [t for t, _ in tokens], fontsize=8)
            else:
                left.set_yticks(range(len(tokens)), [f"#{i + 1}" for i in range(len(tokens))], fontsize=7)
                left.set_ylabel("rank (no CJK font found: install one, e.g. fonts-noto-cjk;\n"
                                "`prep inspect CORPUS` lists the tokens)")
            left.invert_yaxis()
            left.set_xlabel("% of all tokens")
            left.set_title(f"Top {len(tokens)} tokens: {sum(shares):.0f}% of the {total:,} tokens")
        else:
            _no_data(left, "no tokens")
        if curve:
            ranks, counts = zip(*curve)
            right.loglog(ranks, counts, marker=".", linestyle="-", color=_OUT, label="corpus")
            # Zipf's law: frequency ∝ 1/rank, through the most frequent token
            right.loglog([ranks[0], ranks[-1]], [counts[0], counts[0] / ranks[-1]], linestyle="--",
                         color=_EXTRA, linewidth=1, label="1/rank")
            right.set_xlabel("rank")
            right.set_ylabel("count")
            right.legend(frameon=False, fontsize=8)
            right.set_title(f"Rank-frequency (Zipf), {profile.get('vocabulary', len(curve)):,} distinct tokens")
        else:
            _no_data(right, "no tokens")
        return _save(fig, path)


CORPUS_PLOTS = ("lengths", "rejects", "stages", "throughput", "tokens")


def corpus_plots(stats_path: str | os.PathLike[str], profile_path: str | os.PathLike[str],
                 out: str | os.PathLike[str]) -> list[Path]:
    """``lengths.png``, ``rejects.png``, ``stages.png``, ``throughput.png`` and ``tokens.png``
    in ``out``, from the corpus's ``stats.json`` and its profile (``prep inspect --json``)."""
    from .profile import read_profile

    out = Path(out)
    stats = _read_json(stats_path, "a corpus stats.json")
    _stages(stats, stats_path)  # checked before anything is drawn
    profile = read_profile(profile_path)
    return [plot_lengths(profile, out / "lengths.png"),
            plot_rejects(stats, out / "rejects.png", stats_path),
            plot_stages(stats, out / "stages.png", stats_path),
            plot_throughput(stats, out / "throughput.png", stats_path),
            plot_tokens(profile, out / "tokens.png")]


# --- shards ------------------------------------------------------------------------------------


def plot_balance(manifest: dict[str, Any], path: Path) -> Path:
    """Real and padding lines of every rank, stacked: the bars must be equally high."""
    ranks = manifest["ranks"]
    real = [r["real"] for r in ranks]
    padding = [r["padding"] for r in ranks]
    with _style():
        fig, ax = _figure(max(5.0, min(14.0, 2 + 0.35 * len(ranks))), 3.6)
        names = [str(r["rank"]) for r in ranks]
        ax.bar(names, real, color=_OUT, label="real lines")
        ax.bar(names, padding, bottom=real, color=_EXTRA, label="padding (repeats)")
        ax.set_xlabel("rank")
        ax.set_ylabel("lines")
        _whole_numbers(ax.yaxis)
        ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
        ax.set_title(f"{manifest.get('n', sum(real)):,} images in {len(ranks)} ranks of "
                     f"{manifest.get('per_rank_lines', '?')} lines, {sum(padding)} padding, seed {manifest.get('seed')}")
        if len(ranks) > 40:
            ax.set_xticks(ax.get_xticks()[:: max(1, len(ranks) // 20)])
        return _save(fig, path)


def label_counts(shards: Path) -> list[tuple[int, int]]:
    """(label, images) over the real lines of ``index.db`` (padding repeats not counted)."""
    index = shards / "index.db"
    if not index.is_file():
        raise InputError(f"{shards}: no index.db")
    db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    try:
        return db.execute("SELECT label, COUNT(*) FROM lines WHERE is_padding = 0 GROUP BY label ORDER BY label").fetchall()
    except sqlite3.DatabaseError as e:
        raise InputError(f"{index}: cannot read the lines table ({e})") from None
    finally:
        db.close()


def plot_labels(counts: list[tuple[int, int]], path: Path) -> Path:
    """Images per label: one bar per label when there are few, else every label's count sorted
    (the shape of the class imbalance)."""
    with _style():
        fig, ax = _figure(9, 3.6)
        images = sum(c for _, c in counts)
        if not counts:
            _no_data(ax, "no labelled lines")
        elif len(counts) <= 60:
            ax.bar([str(label) for label, _ in counts], [c for _, c in counts], color=_OUT)
            ax.tick_params(axis="x", labelrotation=90 if len(counts) > 20 else 0, labelsize=7)
            ax.set_xlabel("label")
        else:
            ordered = sorted((c for _, c in counts), reverse=True)
            ax.plot(range(1, len(ordered) + 1), ordered, color=_OUT)
            ax.set_xlabel("labels, most images first")
        ax.set_ylabel("images")
        _whole_numbers(ax.yaxis)
        if counts:
            least, most = min(c for _, c in counts), max(c for _, c in counts)
            ax.set_title(f"{images:,} images in {len(counts):,} labels: {least} to {most} per label")
        return _save(fig, path)


SHARDS_PLOTS = ("balance", "labels")


def shards_plots(shards: str | os.PathLike[str], out: str | os.PathLike[str]) -> list[Path]:
    """``balance.png`` and ``labels.png`` in ``out`` for a shard directory."""
    from ..inspection import load_manifest

    shards, out = Path(shards), Path(out)
    manifest = load_manifest(shards)
    return [plot_balance(manifest, out / "balance.png"), plot_labels(label_counts(shards), out / "labels.png")]


# --- word vectors ------------------------------------------------------------------------------


def plot_w2v_training(train: dict[str, Any], path: Path) -> Path:
    """Words per second of every training epoch, with the vocabulary and corpus size."""
    epochs = train.get("epochs") or []
    with _style():
        fig, ax = _figure(7, 3.2)
        if epochs:
            numbers = [e["epoch"] for e in epochs]
            rates = [e["words_per_second"] for e in epochs]
            _label_bars(ax, ax.bar([str(n) for n in numbers], rates, color=_OUT), rates)
            ax.set_xlabel("epoch")
            ax.set_ylabel("words/s")
        else:
            _no_data(ax, "no epochs recorded")
        params = train.get("params", {})
        ax.set_title(f"word2vec: {train.get('vocabulary', 0):,} words in the vocabulary, "
                     f"{train.get('words', 0):,} in the corpus, {params.get('workers', '?')} workers")
        return _save(fig, path)


def plot_w2v_scores(report: dict[str, Any], path: Path) -> Path:
    """Analogy accuracy per section (every file) and similarity correlations per file."""
    sections = [(f"{Path(a['file']).name}: {s['section']}", s) for a in report.get("analogies", [])
                for s in a["sections"]]
    pairs = report.get("similarity", [])
    with _style():
        fig, (left, right) = _figure(11, max(3.2, 0.9 + 0.3 * len(sections)), 2)
        if sections:
            names = [n for n, _ in sections]
            accuracy = [100 * (s["accuracy"] or 0) for _, s in sections]
            bars = left.barh(names, accuracy, color=_OUT)
            for bar, (_, s) in zip(bars, sections):
                left.annotate(f"{s['correct']}/{s['evaluated']} ({s['oov']} OOV)",
                              (bar.get_width(), bar.get_y() + bar.get_height() / 2), va="center",
                              fontsize=7, xytext=(2, 0), textcoords="offset points")
            left.set_xlim(0, 110)
            left.invert_yaxis()
            left.set_xlabel("analogy accuracy, % of in-vocabulary questions")
            left.set_title("Analogies per section")
        else:
            _no_data(left, "no analogy test set (w2v.analogies)")
        if pairs:
            names = [Path(p["file"]).name for p in pairs]
            spearman = [p["spearman"] if p["spearman"] is not None else 0 for p in pairs]
            pearson = [p["pearson"] if p["pearson"] is not None else 0 for p in pairs]
            y = range(len(names))
            right.barh([i - 0.2 for i in y], spearman, 0.4, color=_OUT, label="Spearman")
            right.barh([i + 0.2 for i in y], pearson, 0.4, color=_IN, label="Pearson")
            right.set_yticks(list(y), [f"{n}\n{p['evaluated']} pairs, {p['oov']} OOV" for n, p in zip(names, pairs)])
            right.set_xlim(-1, 1)
            right.axvline(0, color="0.5", linewidth=0.8)
            right.invert_yaxis()
            right.legend(frameon=False, fontsize=8)
            right.set_xlabel("correlation with human scores")
            right.set_title("Word-pair similarity")
        else:
            _no_data(right, "no similarity test set (w2v.similarity)")
        return _save(fig, path)


def w2v_plots(train_path: str | os.PathLike[str], eval_path: str | os.PathLike[str] | None,
              out: str | os.PathLike[str]) -> list[Path]:
    """``training.png`` (and ``scores.png`` with an ``eval.json``) in ``out``."""
    out = Path(out)
    made = [plot_w2v_training(_read_json(train_path, "word2vec's train.json"), out / "training.png")]
    if eval_path is not None:
        made.append(plot_w2v_scores(_read_json(eval_path, "word2vec's eval.json"), out / "scores.png"))
    return made
