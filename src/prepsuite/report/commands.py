"""``prep plot …``: the workflow report's figures, one command per target (corpus, shards, w2v).

Thin shells over :mod:`.plots`; matplotlib is imported inside the commands, so ``prep --help``
does not pay for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..cli import app, err, user_errors

plot_app = typer.Typer(
    help="Figures for the workflow's report (PNG), from the files a target wrote.",
    no_args_is_help=True,
)
app.add_typer(plot_app, name="plot")

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Folder for the PNG files (created if missing).")]


def _done(paths: list[Path]) -> None:
    err.print(f"plot: {len(paths)} figures -> {', '.join(str(p) for p in paths)}", highlight=False,
              markup=False, soft_wrap=True)


@plot_app.command()
@user_errors
def corpus(
    stats: Annotated[Path, typer.Option(help="The corpus's stats.json (results/corpus/stats.json).")],
    profile: Annotated[Path, typer.Option(help="Its profile: prep inspect CORPUS --json FILE.")],
    out: OutOpt,
) -> None:
    """lengths.png, rejects.png, stages.png, throughput.png, tokens.png.

    Example: prep plot corpus --stats results/corpus/stats.json --profile profile.json -o plots
    """
    from .plots import corpus_plots

    _done(corpus_plots(stats, profile, out))


@plot_app.command()
@user_errors
def shards(
    shards: Annotated[Path, typer.Argument(help="A shard directory written by `prep shard`.")],
    out: OutOpt,
) -> None:
    """balance.png (real and padding lines per rank) and labels.png (images per label).

    Example: prep plot shards results/shards/out -o plots
    """
    from .plots import shards_plots

    _done(shards_plots(shards, out))


@plot_app.command()
@user_errors
def w2v(
    train: Annotated[Path, typer.Option(help="train.json written by `prep w2v train`.")],
    out: OutOpt,
    scores: Annotated[Optional[Path], typer.Option("--eval", help="eval.json written by `prep w2v eval`: adds scores.png.")] = None,
) -> None:
    """training.png (words/s per epoch) and, with --eval, scores.png (analogies per section,
    similarity correlations).

    Example: prep plot w2v --train results/w2v/train.json --eval results/w2v/eval.json -o plots
    """
    from .plots import w2v_plots

    _done(w2v_plots(train, scores, out))
