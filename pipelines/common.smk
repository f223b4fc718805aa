# Shared helpers of the prepsuite rules: where `prep` is, which dump, how many chunks.
import json
import os
import shlex
import shutil
import sys

import prepsuite


def _find_prep() -> str:
    """The `prep` of the interpreter running Snakemake, so rules never pick up another one."""
    beside = os.path.join(os.path.dirname(sys.executable), "prep")
    return shlex.quote(beside if os.path.exists(beside) else (shutil.which("prep") or "prep"))


PREP = _find_prep()
DUMP = config.get("dump") or prepsuite.sample_dump()
CHUNKS = int(config["chunks"])
if CHUNKS < 1:
    raise ValueError(f"config chunks must be >= 1, got {CHUNKS}")


def opt(flag: str, value) -> str:
    """`--flag value` when a value is configured, nothing otherwise."""
    return f"{flag} {shlex.quote(str(value))}" if value not in (None, "") else ""


scattergather:
    split=CHUNKS,
