"""``prep w2v …``: train word2vec on the corpus, score it, look at neighbours.

Thin shells over :mod:`.train` and :mod:`.evaluate`; gensim is imported inside the commands so
that ``prep --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..cli import app, err, user_errors
from ..textio import write_json

w2v_app = typer.Typer(
    help="Word vectors: train gensim word2vec on the corpus, evaluate it, show neighbours.",
    no_args_is_help=True,
)
app.add_typer(w2v_app, name="w2v")

ModelArg = Annotated[Path, typer.Argument(help="The training output directory, or a .kv, .model, word2vec .txt or .bin file.")]


@w2v_app.command()
@user_errors
def train(
    corpus: Annotated[Path, typer.Argument(help="Plain-text corpus: one document per line, words separated by spaces (results/corpus/corpus.txt).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory: word2vec.model, vectors.kv, vectors.txt (word2vec text format), train.json.")],
    vector_size: Annotated[int, typer.Option(min=1, help="Dimensions of the word vectors.")] = 100,
    window: Annotated[int, typer.Option(min=1, help="Context words on each side.")] = 5,
    min_count: Annotated[int, typer.Option(min=1, help="Ignore words that occur fewer times than this.")] = 5,
    sg: Annotated[bool, typer.Option("--sg/--cbow", help="Skip-gram (better on rare words and analogies, slower) or CBOW.")] = False,
    negative: Annotated[int, typer.Option(min=1, help="Negative samples per positive example.")] = 5,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the corpus.")] = 5,
    workers: Annotated[int, typer.Option(min=0, help="Training threads; 0 means one per core. Only 1 gives the same vectors on every run.")] = 0,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the initial vectors and of the sampling.")] = 1,
    drop_punctuation: Annotated[bool, typer.Option("--drop-punctuation/--keep-punctuation", help="Leave out tokens made only of punctuation and symbols (，。“” …), which otherwise crowd every word's neighbours on a small corpus.")] = False,
    stopwords: Annotated[Optional[Path], typer.Option("--stopwords", help="File of words to leave out of training, one per line (UTF-8; # comments).")] = None,
) -> None:
    """Train word2vec (gensim, multi-core corpus_file mode) on a segmented corpus.

    Example: prep w2v train results/corpus/corpus.txt --out results/w2v --workers 1 --seed 7
    """
    from .train import EpochReport, TrainParams, train_word2vec

    params = TrainParams(vector_size, window, min_count, sg, negative, epochs, workers, seed,
                         drop_punctuation, str(stopwords) if stopwords else "")

    bar = None
    if err.is_terminal and not err.quiet:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("w2v epochs"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), console=err, transient=True)
        task = bar.add_task("train", total=epochs, speed="")

    def on_epoch(e: EpochReport) -> None:
        err.print(f"w2v: epoch {e.epoch}/{e.epochs}: {e.words:,} words in {e.seconds:.2f} s, "
                  f"{e.words_per_second:,.0f} words/s", highlight=False)
        if bar is not None:
            bar.update(task, completed=e.epoch, speed=f"{e.words_per_second:,.0f} words/s")

    if bar is not None:
        bar.start()
    try:
        result = train_word2vec(corpus, out, params, on_epoch)
    finally:
        if bar is not None:
            bar.stop()
    err.print(result.summary(), highlight=False, soft_wrap=True)


@w2v_app.command("eval")
@user_errors
def eval_(
    model: ModelArg,
    analogies: Annotated[Optional[list[Path]], typer.Option("--analogies", help="Analogy file (': section' headers, 'a b c d' lines); repeat for several.")] = None,
    similarity: Annotated[Optional[list[Path]], typer.Option("--similarity", help="Word-pair file ('word1 word2 score', tabs or spaces, optional header); repeat for several.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Also write the full results to this JSON file (eval.json).")] = None,
    restrict_vocab: Annotated[int, typer.Option(min=1, help="Only the most frequent words count as known (gensim's default 300000).")] = 300_000,
    case_insensitive: Annotated[bool, typer.Option("--case-insensitive/--case-sensitive", help="Compare words in upper case, as gensim does by default.")] = True,
) -> None:
    """Score vectors: analogy accuracy per section and overall, Spearman/Pearson on word pairs.

    Example: prep w2v eval results/w2v --analogies analogy.txt --similarity wordsim-297.txt
    """
    from .evaluate import evaluate, format_report

    report = evaluate(model, list(analogies or []), list(similarity or []), restrict_vocab, case_insensitive)
    typer.echo(format_report(report))
    if out is not None:
        write_json(out, report)


@w2v_app.command()
@user_errors
def synthetic(
    outdir: Annotated[Path, typer.Argument(help="Directory for corpus.txt, analogies.txt and similarity.txt.")],
    kingdoms: Annotated[int, typer.Option(min=2, help="Kingdoms, each with a king, queen, prince and princess.")] = 5,
    lines: Annotated[int, typer.Option(min=1, help="Lines of the corpus.")] = 4000,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the corpus.")] = 0,
    punctuation: Annotated[bool, typer.Option("--punctuation", help="Put punctuation tokens in every line (，、“” inside, 。 at the end), as a real corpus has them.")] = False,
) -> None:
    """Write a small corpus with planted relations and its analogy and similarity test sets.

    Vectors that learned the corpus answer every analogy: a seconds-long check of training and
    scoring. Example: prep w2v synthetic synth
    """
    from .synthetic import write_set

    for path in write_set(outdir, kingdoms, lines, seed, punctuation):
        err.print(f"w2v synthetic: wrote {path}", highlight=False)


@w2v_app.command()
@user_errors
def neighbors(
    model: ModelArg,
    word: Annotated[str, typer.Argument(help="A word of the vocabulary.")],
    n: Annotated[int, typer.Option("-n", "--number", min=1, help="How many neighbours to print.")] = 10,
) -> None:
    """Print the nearest words to WORD with their cosine similarities.

    Example: prep w2v neighbors results/w2v 北京 -n 10
    """
    from .evaluate import load_vectors
    from .evaluate import neighbors as nearest

    for other, similarity in nearest(load_vectors(model), word, n, str(model)):
        typer.echo(f"{other}\t{similarity:.4f}")
