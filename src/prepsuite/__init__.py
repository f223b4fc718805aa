"""prepsuite: reproducible, parallel, resumable data preparation for model training."""

__version__ = "0.1.0"


def sample_dump(multistream: bool = False) -> str:
    """Path of the bundled sample dump (the workflow's default input).

    ``multistream=True`` gives the same pages in Wikimedia's multistream layout; its index
    ``…-multistream-index.txt.bz2`` lies beside it.
    """
    from importlib.resources import files  # here: every `prep` start imports this package

    name = "zhwiki-20260101-pages-articles" + ("-multistream" if multistream else "") + ".xml.bz2"
    return str(files(__name__) / "data" / name)


def sample_photos() -> "Path":
    """Folder of the bundled CC0 test photos (see its README.md for source and licence).

    Its ``single_jpeg/`` holds class folders and ``image_list.txt`` (``relpath label``), the
    input of ``prep pack`` and of the workflow's ``shards`` target; ``single_mixed_0_subsampling/``
    and ``exif_orientation/`` hold the decoder corner cases. Bundled so that a clone or an
    installed wheel works with nothing beside it.
    """
    from importlib.resources import files
    from pathlib import Path

    return Path(str(files(__name__) / "data" / "photos"))
