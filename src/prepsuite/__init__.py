"""prepsuite: reproducible, parallel, resumable data preparation for model training."""

from importlib.resources import files as _files

__version__ = "0.1.0"


def sample_dump() -> str:
    """Path of the bundled sample dump (the workflow's default input)."""
    return str(_files(__name__) / "data" / "zhwiki-20260101-pages-articles.xml.bz2")
