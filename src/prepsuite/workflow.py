"""What the workflow (Snakefile, pipelines/*.smk) runs in Snakemake's own process: the check of
its settings against pipelines/config.schema.yaml, and its event handlers."""

from __future__ import annotations

import os
import threading
from typing import Any


def release_scheduler_timers() -> int:
    """Cancel the pending ``threading.Timer`` threads of this process; how many there were.

    Why: Snakemake's job-rate limiter starts a ``threading.Timer`` of its timespan (1 s by
    default) each time it schedules, to look again once the timespan has passed, and the
    interpreter waits for the last one before it exits: up to a second at the end of every run,
    a quarter of the sample run's time. Nothing is scheduled after the success or error handler,
    so the timers have nothing left to do. (The timespan cannot be set shorter instead:
    ``--max-jobs-per-timespan`` reads "100ms" as 100 minutes.)
    """
    timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer)]
    for timer in timers:
        timer.cancel()
    return len(timers)


# --- the workflow's settings ---------------------------------------------------------------

_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def load_schema(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The workflow's JSON Schema (YAML), as snakemake.utils.validate reads it."""
    import yaml

    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _declared(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return schema.get("properties", {}) if schema.get("additionalProperties") is False else {}


def _all_keys(schema: dict[str, Any], prefix: str = "") -> list[str]:
    """Every declared key as a dotted name (``w2v.workers``)."""
    names = []
    for key, sub in _declared(schema).items():
        names.append(prefix + key)
        names += _all_keys(sub, f"{prefix}{key}.")
    return names


def _nearest(key: str, prefix: str, here: list[str], everywhere: list[str]) -> str | None:
    """The declared key a misspelt one most likely meant, as a dotted name: a sibling spelt
    alike (``chunk`` → ``chunks``), else a key of that name, or spelt alike, in another section
    (``engine`` → ``extract.engine or convert.engine or segment.engine``)."""
    import difflib

    close = difflib.get_close_matches(key, here, n=1, cutoff=0.6)
    if close:
        return prefix + close[0]
    leaves = {name: name.rsplit(".", 1)[-1] for name in everywhere if "." in name}
    close = difflib.get_close_matches(key, list(set(leaves.values())), n=1, cutoff=0.8)
    names = [name for name, leaf in leaves.items() if close and leaf == close[0]]
    return " or ".join(names) or None


def _coerce(value: Any, declared: dict[str, Any], name: str, problems: list[str]) -> Any:
    """A --config string made into the declared type ("2" → 2, "false" → False)."""
    kind = declared.get("type")
    if not isinstance(value, str):
        return value
    if kind == "boolean":
        if value.strip().lower() in _BOOLEANS:
            return _BOOLEANS[value.strip().lower()]
        problems.append(f"{name}: must be true or false, got {value!r}")
    elif kind == "integer":
        try:
            return int(value)
        except ValueError:
            problems.append(f"{name}: must be an integer, got {value!r}")
    return value


def _walk(config: dict[str, Any], schema: dict[str, Any], prefix: str, everywhere: list[str],
          problems: list[str]) -> None:
    declared = _declared(schema)
    for key in list(config):
        name = prefix + key
        if declared and key not in declared:
            near = _nearest(key, prefix, list(declared), everywhere)
            problems.append(f"{name}: unknown setting" + (f"; did you mean {near}?" if near else "")
                            + " (every setting is listed in pipelines/config.yaml)")
            continue
        sub = declared.get(key, {})
        if isinstance(config[key], dict):
            if sub.get("type") == "object":
                _walk(config[key], sub, name + ".", everywhere, problems)
        else:
            config[key] = _coerce(config[key], sub, name, problems)


def check_config(config: dict[str, Any], schema_path: str | os.PathLike[str]) -> None:
    """Refuse settings the schema does not declare, naming the nearest declared key, and make
    the strings that --config gives inside a mapping ('w2v={workers: 2}') the declared integers
    and booleans, so that snakemake.utils.validate, run next, checks values rather than the
    spelling of the command line. Changes ``config`` in place; raises ValueError listing every
    problem at once."""
    schema = load_schema(schema_path)
    problems: list[str] = []
    _walk(config, schema, "", _all_keys(schema), problems)
    if problems:
        raise ValueError("bad workflow config (pipelines/config.yaml or --config):\n  " + "\n  ".join(problems))


def check_stage_settings(config: dict[str, Any]) -> None:
    """Refuse bad settings of the text stages before any job starts, naming the setting, with
    the choices the library offers (the schema's own messages are less direct)."""
    from .text import convert, extract, segment
    from .text.chunks import check_chunks_setting

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


# --- what the rules compute from the settings ------------------------------------------------


def opt(flag: str, value: Any) -> str:
    """`--flag value` when a value is configured, nothing otherwise."""
    import shlex

    return f"{flag} {shlex.quote(str(value))}" if value not in (None, "") else ""


def text_stage_options(config: dict[str, Any]) -> str:
    """The clean/convert/segment options every `prep process` job gets from the config."""
    import shlex

    return " ".join(part for part in (
        opt("--rules", config["clean"].get("rules_file")),
        f"--config {shlex.quote(config['convert']['config'])}",
        f"--convert-engine {shlex.quote(config['convert']['engine'])}",
        f"--segment-engine {shlex.quote(config['segment']['engine'])}",
        "--hmm" if config["segment"]["hmm"] else "--no-hmm",
        opt("--user-dict", config["segment"].get("user_dict")),
        "" if config["segment"].get("keep_phrases", True) else "--split-phrases",
    ) if part)


def w2v_test_files(config: dict[str, Any], key: str) -> list[str]:
    """``w2v.<key>`` as a list of test-set files (one path alone is accepted too; empty or null
    means none)."""
    value = config["w2v"].get(key) or []
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def shards_images(config: dict[str, Any]) -> dict[str, str]:
    """The images the shards target packs and their labels file (empty settings: the photos
    bundled with the package). A missing one stops the run with a message that names the
    setting, rather than a bare missing-file error."""
    import prepsuite

    shards = config["shards"]
    images = str(shards.get("images_dir") or prepsuite.sample_photos() / "single_jpeg")
    labels = str(shards.get("labels") or os.path.join(images, "image_list.txt"))
    for path, key in ((images, "images_dir"), (labels, "labels")):
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"config shards.{key}: {path!r} not found (absolute: {os.path.abspath(path)}). "
                "Empty settings pack the photos bundled with prepsuite; point shards.images_dir and "
                "shards.labels at your images, or shards.data_dir at an existing base64 dataset."
            )
    return {"images": images, "labels": labels}


# --- steps run inside Snakemake's process (`run:` rules) ---------------------------------------


def in_process(log_path: str, step: Any, *args: Any) -> None:
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


def plan_job(input: Any, output: Any, log: Any, params: Any) -> None:
    """The plan_chunks rule: where each chunk's part of the dump lies (`prep plan`)."""
    from .text.multistream import write_plan

    in_process(log[0], write_plan, input.dump, input.get("index"), params.chunks, output[0])


def gather_job(input: Any, output: Any, log: Any, params: Any) -> None:
    """The corpus rule: the chunks, their stats and rejects merged (`prep gather`)."""
    from .text.gather import gather_corpus

    in_process(log[0], gather_corpus, list(input.chunks), output.corpus, list(input.stats),
               output.stats, {"config": params.settings}, list(input.rejects), output.rejects,
               params.settings["dump"],  # a dump that gave no document is an error, not an empty corpus
               output.get("jsonl"))  # corpus.format: jsonl


# --- Snakemake's own output ----------------------------------------------------------------------


def hide_empty_shell_commands() -> None:
    """With printshellcmds (the default profile) Snakemake logs ``Shell command: None`` for every
    `run:` job, which has no shell command; drop those lines, keep every other."""
    import logging

    def has_command(record: logging.LogRecord) -> bool:
        return not (str(getattr(record, "event", "")).lower().endswith("shellcmd")
                    and getattr(record, "shellcmd", "") is None)

    for name in ("snakemake", "snakemake.logging"):
        logging.getLogger(name).addFilter(has_command)


def use_this_prep() -> None:
    """Put the directory of the interpreter running Snakemake first on PATH, so that the rules'
    ``prep`` is this installation's (not another one found first), while an environment a rule
    activates (`--sdm conda`) still comes before it."""
    import sys

    here = os.path.dirname(sys.executable)
    if os.path.exists(os.path.join(here, "prep")):
        path = os.environ.get("PATH", "")
        if path.split(os.pathsep)[0] != here:
            os.environ["PATH"] = here + os.pathsep + path
