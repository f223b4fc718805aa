"""`snakemake -j8 shards` from a fresh copy of the workflow, as the README promises."""

from __future__ import annotations

import pytest

from conftest import snakemake, snakemake_workdir
from prepsuite.shards import verify_shards
from test_shards_helpers import make_dataset, read_manifest, tree_bytes

pytestmark = pytest.mark.slow


def test_shards_target_packs_shards_and_verifies_the_bundled_photos(tmp_path):
    # No settings: the default is the photos bundled with the package, as on a fresh clone.
    work = snakemake_workdir(tmp_path)
    snakemake(work, "-j8", "shards")
    out = work / "results" / "shards" / "out"
    manifest = read_manifest(out)
    assert (manifest["n"], manifest["nranks"], manifest["seed"]) == (18, 8, 0)
    assert "verify: OK" in (work / "results" / "shards" / "verify.txt").read_text()
    assert len((work / "results/shards/data/file_list.txt").read_text().split()) == 2  # part_lines 10
    first = tree_bytes(out)
    again = snakemake(work, "-j8", "shards")
    assert "Nothing to be done" in again.stdout + again.stderr
    snakemake(work, "-j1", "shards", "--forceall")
    assert tree_bytes(out) == first


def test_shards_target_on_an_existing_dataset_with_other_settings(tmp_path):
    work = snakemake_workdir(tmp_path)
    data = tmp_path / "dataset"
    lines = make_dataset(data, [30, 12])
    snakemake(work, "-j2", "shards", "--config", f"shards={{data_dir: '{data}', nranks: 5, seed: 9}}")
    out = work / "results" / "shards" / "out"
    manifest = read_manifest(out)
    assert (manifest["n"], manifest["nranks"], manifest["seed"], manifest["per_rank_lines"]) == (len(lines), 5, 9, 9)
    assert not (work / "results" / "shards" / "data").exists()  # nothing packed
    assert verify_shards(out, data).ok


def test_shards_target_names_the_missing_photos(tmp_path):
    work = snakemake_workdir(tmp_path)
    proc = snakemake(work, "-j1", "shards", "--config", "shards={images_dir: no/such/photos}", check=False)
    assert proc.returncode != 0
    assert "config shards.images_dir: 'no/such/photos' not found" in proc.stdout + proc.stderr
