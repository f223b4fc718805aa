"""`prep pack`, `prep shard` and `prep verify`: thin shells over :mod:`prepsuite.shards`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..cli import app, err, user_errors


@app.command()
@user_errors
def pack(
    images_dir: Annotated[Path, typer.Argument(help="Folder of images; the paths in LABELS are relative to it.")],
    labels: Annotated[Path, typer.Argument(help="Labels file: one 'relative/path label' per line (integer label).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Data directory to write: part-*.b64, file_list.txt, rejects.tsv.")],
    part_lines: Annotated[int, typer.Option(help="Images per part file.")] = 1000,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out if it holds an earlier `prep pack` output.")] = False,
) -> None:
    """Pack images and labels into base64 part files (base64(image)<TAB>label lines) and a file list.

    Example: prep pack images/ label.txt -o dataset --part-lines 1000
    """
    from ..progress import work_progress
    from .pack import pack_images

    with work_progress("pack", err, unit="images") as progress:
        result = pack_images(images_dir, labels, out, part_lines=part_lines, overwrite=overwrite,
                             progress=progress)
    err.print(result.summary(), highlight=False, markup=False, soft_wrap=True)


@app.command()
@user_errors
def shard(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Directory holding the part files (what `prep pack -o` wrote); default: the current directory.", show_default=False)] = Path("."),
    out: Annotated[Optional[Path], typer.Option("--out", "-o", show_default=False, help="Output directory: rank-*-of-*.b64, index.db, manifest.json, rejects.tsv. Default: shards-NRANKS inside --data-dir.")] = None,
    file_list: Annotated[str, typer.Option("--file-list", help="File naming the part files, one per line; relative to --data-dir unless absolute. Its entries must be relative and stay inside --data-dir.")] = "file_list.txt",
    nranks: Annotated[int, typer.Option("--nranks", help="Number of training ranks (shard files); each gets ceil(n / nranks) lines.")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the shuffle and of the padding repeats; recorded in manifest.json.")] = 0,
    check_images: Annotated[bool, typer.Option("--check-images", help="Also decode every image with Pillow; undecodable ones are rejected.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Stop with an error at the first bad line instead of rejecting it.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out if it holds an earlier `prep shard` output.")] = False,
    allow_more_ranks: Annotated[bool, typer.Option("--allow-more-ranks-than-lines", help="Allow --nranks above the number of valid lines (ranks holding only padding repeats); refused otherwise.")] = False,
) -> None:
    """Shuffle all lines globally (seeded) and deal them into equal, padded per-rank shards.

    Inside a dataset directory: prep shard --nranks 8   (writes ./shards-8)

    Example: prep shard --data-dir dataset --nranks 8 -o shards --seed 0
    """
    from ..progress import work_progress
    from .shard import shard_dataset

    with work_progress("shard", err) as progress:
        result = shard_dataset(data_dir, file_list, nranks=nranks, out=out, seed=seed,
                               check_images=check_images, strict=strict, overwrite=overwrite,
                               allow_more_ranks=allow_more_ranks, progress=progress)
    err.print(result.summary(), highlight=False, markup=False, soft_wrap=True)


@app.command()
@user_errors
def verify(
    out: Annotated[Path, typer.Argument(help="Shard directory written by `prep shard`.")],
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Also check the source parts: unchanged, and every shard line equal to its source line.")] = None,
) -> None:
    """Re-read the shards and check counts, hashes, coverage of the source lines and padding.

    Prints the report on stdout; with -q only a failed one. Exit status 1 when it fails.

    Example: prep verify shards --data-dir dataset
    """
    from ..cli import Verbosity
    from ..progress import work_progress
    from .verify import verify_shards

    with work_progress("verify", err) as progress:
        report = verify_shards(out, data_dir, progress=progress)
    if not (Verbosity.quiet and report.ok):
        typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(code=1)
