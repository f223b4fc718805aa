"""The workflow passes Snakemake's own checks: `snakemake --lint`, its settings validated against
pipelines/config.schema.yaml (typos refused, the nearest key named), a dry run writes nothing."""

from __future__ import annotations

import copy

import pytest
import yaml

from conftest import REPO, snakemake, snakemake_workdir
from prepsuite.workflow import check_config, load_schema

SCHEMA = REPO / "pipelines" / "config.schema.yaml"


@pytest.fixture
def defaults() -> dict:
    return yaml.safe_load((REPO / "pipelines" / "config.yaml").read_text(encoding="utf-8"))


def test_every_default_setting_is_declared_with_a_description(defaults):
    schema = load_schema(SCHEMA)
    check_config(copy.deepcopy(defaults), SCHEMA)  # nothing unknown
    for key, value in defaults.items():
        declared = schema["properties"][key]
        assert declared.get("description"), key
        if isinstance(value, dict):
            assert set(value) == set(declared["properties"]), key
            assert all(sub.get("description") for sub in declared["properties"].values()), key


@pytest.mark.parametrize("given, message", [
    ({"chunk": 4}, "chunk: unknown setting; did you mean chunks?"),
    ({"w2v": {"worker": "2"}}, "w2v.worker: unknown setting; did you mean w2v.workers?"),
    ({"hmm": False}, "hmm: unknown setting; did you mean segment.hmm?"),
    ({"engine": "fast"}, "engine: unknown setting; did you mean extract.engine or convert.engine or segment.engine?"),
    ({"w2v": {"workers": "two"}}, "w2v.workers: must be an integer, got 'two'"),
    ({"segment": {"hmm": "maybe"}}, "segment.hmm: must be true or false, got 'maybe'"),
])
def test_bad_settings_are_refused_by_name(defaults, given, message):
    for key, value in given.items():
        if isinstance(value, dict):
            defaults[key].update(value)
        else:
            defaults[key] = value
    with pytest.raises(ValueError, match="bad workflow config") as err:
        check_config(defaults, SCHEMA)
    assert message in str(err.value)


def test_strings_from_the_command_line_become_the_declared_types(defaults):
    # --config 'shards={nranks: 4, check_images: false}' gives "4" and "false"
    defaults["shards"].update(nranks="4", check_images="false")
    defaults["split_single_stream"] = "no"
    check_config(defaults, SCHEMA)
    assert defaults["shards"]["nranks"] == 4 and defaults["shards"]["check_images"] is False
    assert defaults["split_single_stream"] is False


@pytest.mark.slow
def test_lint_passes(tmp_path):
    work = snakemake_workdir(tmp_path)
    proc = snakemake(work, "--lint")
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_a_misspelt_key_on_the_command_line_is_refused_with_the_nearest(tmp_path):
    work = snakemake_workdir(tmp_path)
    proc = snakemake(work, "-n", "-j2", "corpus", "--config", "chunk=4", check=False)
    assert proc.returncode != 0
    assert "chunk: unknown setting; did you mean chunks?" in proc.stdout + proc.stderr
    proc = snakemake(work, "-n", "-j2", "w2v", "--config", "w2v={sg: 3}", check=False)
    out = proc.stdout + proc.stderr  # the schema's own check: sg is 0 or 1
    assert proc.returncode != 0 and "Error validating config file" in out and "'sg'" in out


@pytest.mark.slow
def test_a_dry_run_writes_nothing_of_the_workflow(tmp_path):
    work = snakemake_workdir(tmp_path)
    before = sorted(p.name for p in work.iterdir())
    for target in ("corpus", "w2v", "shards"):
        proc = snakemake(work, "-n", "-j2", target)
        assert "Shell command: None" not in proc.stdout + proc.stderr  # run: rules print no command
    # .snakemake is Snakemake's own bookkeeping, made by any run, dry or not
    assert sorted(p.name for p in work.iterdir() if p.name != ".snakemake") == before
