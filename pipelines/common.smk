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


def _check_config(config: dict) -> None:
    """Refuse bad settings before any job starts, naming the setting."""
    from prepsuite.text.convert import OPENCC_CONFIGS
    from prepsuite.text.extract import ENGINES

    problems = []
    if not isinstance(config.get("chunks"), int) or config["chunks"] < 1:
        problems.append(f"chunks: must be an integer >= 1, got {config.get('chunks')!r}")
    if config["extract"].get("engine") not in ENGINES:
        problems.append(f"extract.engine: {config['extract'].get('engine')!r} is not one of {', '.join(ENGINES)}")
    if config["convert"].get("config") not in OPENCC_CONFIGS:
        problems.append(
            f"convert.config: unknown OpenCC config {config['convert'].get('config')!r}; "
            f"choose one of {', '.join(OPENCC_CONFIGS)}"
        )
    if problems:
        raise ValueError("bad workflow config (pipelines/config.yaml or --config):\n  " + "\n  ".join(problems))


_check_config(config)
PREP = _find_prep()
DUMP = config.get("dump") or prepsuite.sample_dump()
CHUNKS = int(config["chunks"])


def opt(flag: str, value) -> str:
    """`--flag value` when a value is configured, nothing otherwise."""
    return f"{flag} {shlex.quote(str(value))}" if value not in (None, "") else ""


scattergather:
    split=CHUNKS,
