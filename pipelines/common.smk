# Shared helpers of the prepsuite rules: where `prep` is, which dump, how many chunks.
import os
import shlex
import shutil
import sys

import prepsuite
from prepsuite.text.chunks import check_chunks_setting, is_auto, resolve_chunks
from prepsuite.text.multistream import index_for, is_bz2, is_plan, planned_chunks
from prepsuite.workflow import release_scheduler_timers


def _find_prep() -> str:
    """The `prep` of the interpreter running Snakemake, so rules never pick up another one."""
    beside = os.path.join(os.path.dirname(sys.executable), "prep")
    return shlex.quote(beside if os.path.exists(beside) else (shutil.which("prep") or "prep"))


_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def setting(section: str, key: str, kind=str):
    """``config[section][key]`` as ``kind`` (str, int or bool). Values given with --config arrive
    as strings ("1", "false"), YAML ones typed; a value that is neither is refused by name."""
    value = config[section].get(key)
    if kind is str:
        return "" if value is None else str(value)
    if kind is bool:
        if isinstance(value, str):
            if value.lower() not in _BOOLEANS:
                raise ValueError(f"config {section}.{key} must be a boolean (true/false, yes/no, 1/0), got {value!r}")
            return _BOOLEANS[value.lower()]
        return bool(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"config {section}.{key} must be an integer, got {value!r}") from None


def _check_config(config: dict) -> None:
    """Refuse bad settings before any job starts, naming the setting."""
    from prepsuite.text import convert, extract, segment

    problems = []
    for section in ("extract", "clean", "convert", "segment"):
        if not isinstance(config.get(section), dict):
            problems.append(f"{section}: must be a mapping, e.g. --config '{section}={{\"engine\": ...}}'"
                            f" (got {config.get(section)!r})")
    if problems:
        raise ValueError("bad workflow config (pipelines/config.yaml or --config):\n  " + "\n  ".join(problems))
    try:
        check_chunks_setting(config.get("chunks"))
    except ValueError as err:
        problems.append(str(err))
    # --config gives every value as a string, those nested in a mapping too
    # ('segment={"hmm": false}' arrives as "false", which as a string would be true)
    for section, key in ((None, "fuse_stages"), (None, "split_single_stream"), ("segment", "hmm")):
        holder = config if section is None else config[section]
        value = holder.get(key, True)
        if isinstance(value, str) and value.lower() in _BOOLEANS:
            holder[key] = _BOOLEANS[value.lower()]
        elif not isinstance(value, bool):
            name = key if section is None else f"{section}.{key}"
            problems.append(f"{name}: must be true or false, got {value!r}")
    for stage, module in (("extract", extract), ("convert", convert), ("segment", segment)):
        engine = config[stage].get("engine")
        if engine not in module.ENGINES:
            problems.append(f"{stage}.engine: {engine!r} is not one of {', '.join(module.ENGINES)}")
    if config["convert"].get("config") not in convert.OPENCC_CONFIGS:
        problems.append(
            f"convert.config: unknown OpenCC config {config['convert'].get('config')!r}; "
            f"choose one of {', '.join(convert.OPENCC_CONFIGS)}"
        )
    elif config["convert"].get("engine") == "cpp":
        try:
            convert.cpp_opencc_dir()
        except ValueError as err:
            problems.append(f"convert.engine: {err}")
    if problems:
        raise ValueError("bad workflow config (pipelines/config.yaml or --config):\n  " + "\n  ".join(problems))


_check_config(config)
PREP = _find_prep()
DUMP = config.get("dump") or prepsuite.sample_dump()
# A multistream dump with its index is extracted one chunk per job (each job reads its streams).
INDEX = config.get("index") or (index_for(DUMP) if os.path.exists(DUMP) else None)
if is_auto(config["chunks"]) and (workflow.remote_exec or workflow.non_local_exec):
    # every cluster job reads this file again on its own node, which would count its own CPUs
    raise ValueError("chunks: auto counts the CPUs of the machine reading the workflow, and each "
                     "cluster node would count its own; give a number: --config chunks=N")
# `auto`: the count a ready-made plan (index=) was made for, else one per CPU (more for a big
# dump, fewer for a tiny one); see prepsuite.text.chunks
CHUNKS = ((planned_chunks(INDEX) if is_auto(config["chunks"]) and INDEX and is_plan(INDEX) else None)
          or resolve_chunks(config["chunks"], DUMP))
# Chunk jobs read their own part of the dump: a multistream dump's streams (with its index), or a
# single-stream .bz2 dump's bz2 blocks. Otherwise (a plain .xml dump, the gensim engine, or
# split_single_stream: false) one job extracts the whole dump and deals the articles to chunks.
# (gensim's WikiCorpus reads the whole dump itself, a multistream one too: one extract job.)
SPLIT = config["extract"]["engine"] != "gensim" and (
    bool(INDEX) or (config.get("split_single_stream", True) and is_bz2(DUMP)))
# Files whose contents shape the text stages: editing one reruns the jobs that read it.
SETTING_FILES = [f for f in (config["clean"].get("rules_file"), config["segment"].get("user_dict")) if f]


def in_process(log_path: str, step, *args) -> None:
    """Run a library step inside Snakemake's process: `prep`'s start-up alone is half a second,
    longer than the plan or the gather of a small dump. The log gets what `prep` would have
    written: the step's summary, the error, or the traceback of an unexpected one."""
    import traceback

    with open(log_path, "w", encoding="utf-8") as log:
        try:
            result = step(*args)
        except (ValueError, OSError) as err:  # InputError is a ValueError
            log.write(f"prep: error: {err}\n")
            raise
        except Exception:
            log.write(traceback.format_exc())
            raise
        log.write(result.summary() + "\n")


def opt(flag: str, value) -> str:
    """`--flag value` when a value is configured, nothing otherwise."""
    return f"{flag} {shlex.quote(str(value))}" if value not in (None, "") else ""


scattergather:
    split=CHUNKS,


# Snakemake's scheduler leaves timers behind that the interpreter would wait for (up to 1 s).
onsuccess:
    release_scheduler_timers()


onerror:
    release_scheduler_timers()
