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
