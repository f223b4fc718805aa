"""`prep inspect`: a quick look at what the preparation gave, without SQL.

* a shard directory (``prep shard``'s output): its manifest as a table, one row per rank;
  with ``--rank R`` the first ``--head`` lines of that rank, joined with ``index.db`` (source
  file and line, label) and with the image's format and size read from its decoded header;
  ``--save DIR`` writes those images out, byte for byte, to look at;
* a corpus (``corpus.txt``, one document per line, or ``corpus.jsonl``): document count,
  length percentiles, top tokens (``--json FILE`` writes the whole profile, what the
  workflow's report plots).

On a terminal the tables are rich tables; piped, they are plain TSV (a header row, then one row
per line; the corpus's two tables are separated by an empty line), for ``cut`` and friends.
(The module is not called ``inspect``, so it can never shadow the standard library's.)
"""

from __future__ import annotations

import base64
import io
import json
import sqlite3
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .cli import app, err, file_size, user_errors
from .textio import InputError, check_output_path

# --- output: rich table on a terminal, TSV when piped ---------------------------------------


class Style(str, Enum):
    auto = "auto"
    table = "table"
    tsv = "tsv"


@dataclass
class Table:
    """Rows to print; ``title`` is shown above a rich table and left out of TSV."""

    title: str
    columns: list[str]
    rows: list[list[Any]]


def _tsv_cell(value: Any) -> str:
    return str(value).replace("\t", " ").replace("\n", " ")


def print_tables(tables: Sequence[Table], style: Style = Style.auto) -> None:
    if style == Style.auto:
        style = Style.table if sys.stdout.isatty() else Style.tsv
    if style == Style.tsv:
        out = sys.stdout
        for i, table in enumerate(tables):
            if i:
                out.write("\n")
            out.write("\t".join(table.columns) + "\n")
            for row in table.rows:
                out.write("\t".join(_tsv_cell(v) for v in row) + "\n")
        out.flush()
        return
    from rich.console import Console
    from rich.table import Table as RichTable

    # piped yet asked for tables (--style table): wide enough not to fold them
    console = Console() if sys.stdout.isatty() else Console(width=200)
    for table in tables:
        rich = RichTable(title=table.title, title_justify="left")
        for name in table.columns:
            text = name in _TEXT_COLUMNS
            rich.add_column(name, justify="left" if text else "right", overflow="fold", no_wrap=not text)
        for row in table.rows:
            rich.add_row(*(_show(v) for v in row))
        console.print(rich)


_TEXT_COLUMNS = {"file", "source_file", "token", "format", "size", "sha256", "statistic", "saved"}


def _show(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


# --- shards ------------------------------------------------------------------------------------


def load_manifest(shards: Path) -> dict[str, Any]:
    path = shards / "manifest.json"
    if not path.is_file():
        raise InputError(f"{shards}: no manifest.json; not a shard directory written by `prep shard`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest["ranks"], manifest["nranks"]
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a prep shard manifest ({e})") from None
    return manifest


def manifest_table(shards: Path, manifest: dict[str, Any]) -> Table:
    title = (f"{shards}: {manifest.get('n', '?')} images in {manifest['nranks']} ranks of "
             f"{manifest.get('per_rank_lines', '?')} lines, {manifest.get('padding', 0)} padding, "
             f"{manifest.get('rejected', 0)} rejected, seed {manifest.get('seed', '?')}")
    rows = [[r["rank"], r["file"], r["lines"], r["real"], r["padding"], r["bytes"], manifest.get("seed", ""),
             r["sha256"][:12]] for r in manifest["ranks"]]
    return Table(title, ["rank", "file", "lines", "real", "padding", "bytes", "seed", "sha256"], rows)


def image_header(data: bytes) -> tuple[str, str]:
    """(format, ``WxH``) read from the image's header by Pillow, without decoding its pixels;
    ``("?", why)`` for bytes Pillow cannot identify."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as img:
                return str(img.format), f"{img.size[0]}x{img.size[1]}"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        return "?", f"unreadable: {type(e).__name__}"


_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp", "TIFF": "tif"}


def rank_lines(shards: Path, manifest: dict[str, Any], rank: int, head: int,
               save: Path | None = None) -> Table:
    """The first ``head`` lines of ``rank``: where each came from (``index.db``), its label, and
    its image's format and size; with ``save``, the images written there as they are stored."""
    nranks = manifest["nranks"]
    if not 0 <= rank < nranks:
        raise ValueError(f"--rank {rank}: {shards} has ranks 0 to {nranks - 1}")
    entry = manifest["ranks"][rank]
    shard_path = shards / entry["file"]
    index = shards / "index.db"
    if not index.is_file():
        raise InputError(f"{shards}: no index.db")
    db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT position, shard_offset, length, source_file, source_line, label, is_padding "
            "FROM lines WHERE rank = ? ORDER BY position LIMIT ?", (rank, head)).fetchall()
    except sqlite3.DatabaseError as e:
        raise InputError(f"{index}: cannot read the lines table ({e})") from None
    finally:
        db.close()
    if save is not None:
        if save.exists() and not save.is_dir():
            raise InputError(f"--save {save}: is a file; give a folder for the images")
        save.mkdir(parents=True, exist_ok=True)
    out = []
    with open(shard_path, "rb") as fh:
        for position, offset, length, source, line, label, padding in rows:
            fh.seek(offset)
            raw = fh.read(length)
            image_field = raw[: raw.rfind(b"\t")] if b"\t" in raw else raw
            try:
                data = base64.b64decode(image_field, validate=True)
            except ValueError:
                raise InputError(f"{shard_path}: byte {offset}: line {position + 1} is not base64<TAB>label; "
                                 f"run `prep verify {shards}`") from None
            fmt, size = image_header(data)
            row = [position, source, line, label, "yes" if padding else "no", fmt, size, len(data)]
            if save is not None:
                name = f"rank{rank:05d}-{position:06d}-label{label}.{_EXTENSIONS.get(fmt, 'bin')}"
                (save / name).write_bytes(data)
                row.append(name)
            out.append(row)
    columns = ["position", "source_file", "source_line", "label", "padding", "format", "size", "bytes"]
    title = f"{shard_path}: first {len(out)} of {entry['lines']} lines"
    return Table(title, columns + (["saved"] if save is not None else []), out)


# --- corpus ------------------------------------------------------------------------------------


def corpus_tables(profile: Any, top: int) -> list[Table]:
    chars, tokens = profile.percentiles("chars"), profile.percentiles("tokens")
    stats = [["documents", profile.documents, profile.documents],
             ["empty", profile.empty, profile.empty],
             ["total", int(profile.chars.sum()), profile.token_total],
             ["distinct", "", profile.vocabulary],
             ["mean", f"{profile.chars.mean():.1f}", f"{profile.tokens.mean():.1f}"]]
    stats += [[p, chars[p], tokens[p]] for p in chars]
    tables = [Table(f"{profile.path}: {profile.documents:,} documents, {profile.token_total:,} tokens "
                    f"({profile.vocabulary:,} distinct)",
                    ["statistic", "characters", "tokens"], stats)]
    if top:
        total = profile.token_total or 1
        tables.append(Table(f"top {top} tokens", ["rank", "token", "count", "share"],
                            [[i, t, c, f"{100 * c / total:.2f}%"] for i, (t, c) in enumerate(profile.top(top), 1)]))
    return tables


# --- the command -------------------------------------------------------------------------------


@app.command()
@user_errors
def inspect(
    path: Annotated[Path, typer.Argument(help="A shard directory (prep shard --out) or a corpus: plain text, one document per line, or .jsonl with a 'text' field.")],
    rank: Annotated[Optional[int], typer.Option(help="Shards: show the first lines of this rank (0-based) instead of the manifest.")] = None,
    head: Annotated[int, typer.Option(min=1, help="Shards with --rank: how many lines to show.")] = 10,
    save: Annotated[Optional[Path], typer.Option(help="Shards with --rank: also write those lines' images into this folder (as stored: no re-encoding).")] = None,
    top: Annotated[int, typer.Option(min=0, help="Corpus: how many of the most frequent tokens to list (0: none).")] = 20,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Corpus: also write the whole profile (percentiles, length histograms, top 100 tokens, rank-frequency curve) to this JSON file, what the workflow's report plots.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no tables (with --json: only write the file).")] = False,
    style: Annotated[Style, typer.Option(help="table: rich tables; tsv: tab-separated, a header row first; auto: tables on a terminal, TSV when piped.")] = Style.auto,
) -> None:
    """Look at shards or a corpus: tables on a terminal, TSV when piped.

    Examples:
      prep inspect results/shards/out
      prep inspect results/shards/out --rank 3 --head 5 --save peek/
      prep inspect results/corpus/corpus.txt --top 30
    """
    if path.is_dir():
        if json_out is not None:
            raise ValueError("--json is for a corpus file; a shard directory has its manifest.json")
        manifest = load_manifest(path)
        if rank is None:
            if save is not None:
                raise ValueError("--save needs --rank (which rank's images to write)")
            table = manifest_table(path, manifest)
        else:
            table = rank_lines(path, manifest, rank, head, save)
        if not quiet:
            print_tables([table], style)
        return
    if rank is not None or save is not None:
        raise ValueError(f"{path}: --rank and --save are for a shard directory, not a file")
    from .progress import byte_progress
    from .report.profile import profile_corpus, write_profile

    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if json_out is not None:
        check_output_path(json_out)
    with byte_progress(f"inspect {path.name}", file_size(str(path)), err) as progress:
        profile = profile_corpus(path, progress=progress)
    if json_out is not None:
        write_profile(profile, json_out)
    if not quiet:
        print_tables(corpus_tables(profile, top), style)
