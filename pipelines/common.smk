# Shared helpers of the prepsuite rules: the settings checked, which dump, how many chunks.
# Logic lives in the library (prepsuite.workflow), so the rule files hold rules only.
import os
import shlex

from snakemake.utils import validate

import prepsuite
from prepsuite.text.chunks import is_auto, resolve_chunks
from prepsuite.text.multistream import index_for, is_bz2, is_plan, planned_chunks
from prepsuite.workflow import (check_config, check_stage_settings, gather_job, hide_empty_shell_commands, opt, plan_job,
                                release_scheduler_timers, shards_images, text_stage_options,
                                use_this_prep, w2v_test_files)


# Unknown keys refused (nearest key named), --config strings typed.
check_config(config, os.path.join(workflow.basedir, "pipelines", "config.schema.yaml"))
# The `prep` the jobs run is this installation's, unless a conda env (--sdm conda) has its own.
use_this_prep()
hide_empty_shell_commands()
#: The software of every rule, for `snakemake --sdm conda` (see the file); otherwise unused.
PREPSUITE_ENV = "envs/prepsuite.yaml"


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


check_stage_settings(config)
# and then the schema's own checks (types, ranges, choices of the other settings)
validate(config, "config.schema.yaml")
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


scattergather:
    split=CHUNKS,


# Snakemake's scheduler leaves timers behind that the interpreter would wait for (up to 1 s).
onsuccess:
    release_scheduler_timers()


onerror:
    release_scheduler_timers()
