"""prepsuite: reproducible, parallel, resumable data preparation for model training."""

from importlib.resources import files as _files

__version__ = "0.1.0"


def sample_dump(multistream: bool = False) -> str:
    """Path of the bundled sample dump (the workflow's default input).

    ``multistream=True`` gives the same pages in Wikimedia's multistream layout; its index
    ``…-multistream-index.txt.bz2`` lies beside it.
    """
    name = "zhwiki-20260101-pages-articles" + ("-multistream" if multistream else "") + ".xml.bz2"
    return str(_files(__name__) / "data" / name)
