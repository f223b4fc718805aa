"""Elastic loading: shards written for N ranks, read by M ranks, with the same global batches.

A user's session: `prep shard` wrote a directory for 4 ranks; the job now runs on 1, 2 or 8 ranks
(a node failed, or more GPUs came), or on a cluster where each node holds only its own files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from prepsuite.dali.plan import EpochPlan

# --- the plan alone (no DALI): which global ids each rank reads -------------------------------


def global_batches(n, N, P, M, G, *, epochs=2, **kw):
    plan = EpochPlan(n, N, P, 0, M, G // M, **kw)
    return [plan.global_batch_ids(e, s).tolist() for e in range(epochs) for s in range(plan.steps)]


@pytest.mark.parametrize("drop_last", [False, True])
def test_global_batches_do_not_depend_on_the_world_size(drop_last):
    n, N, P = 45, 8, 6  # 48 lines in 8 files, 3 of them padding
    one = global_batches(n, N, P, 1, 12, seed=7, drop_last=drop_last)
    assert len(one) == 2 * (3 if drop_last else 4)
    for M in (2, 3, 4, 6, 12):
        assert global_batches(n, N, P, M, 12, seed=7, drop_last=drop_last) == one, M
    ids = [g for batch in one[: len(one) // 2] for g in batch]
    assert max(ids) < n, "padding lines are never read: they would count a sample twice"
    if not drop_last:
        assert sorted(set(ids)) == list(range(n)) and len(ids) == 48
    assert one[0] != one[len(one) // 2], "each epoch its own order"


def test_node_local_batches_are_the_same_for_every_world_size_that_divides():
    n, N, P = 30, 4, 8
    one = global_batches(n, N, P, 1, 8, seed=1, shuffle="local")
    for M in (2, 4, 8):
        assert global_batches(n, N, P, M, 8, seed=1, shuffle="local") == one, M
    for m in range(8):  # with 8 ranks on 4 files, ranks 2f and 2f+1 share file f
        assert EpochPlan(n, N, P, m, 8, 1, shuffle="local").files() == [m // 2]
    assert EpochPlan(n, N, P, 1, 2, 4, shuffle="local").files() == [2, 3]
    with pytest.raises(ValueError, match="must divide or be a multiple of 4"):
        EpochPlan(n, N, P, 0, 3, 4, shuffle="local")
    with pytest.raises(ValueError, match="multiple of the 4 shard files"):
        EpochPlan(n, N, P, 0, 2, 3, shuffle="local")


# --- the loader over real (generated) JPEGs ---------------------------------------------------

pytest.importorskip("nvidia.dali", reason="DALI is the optional extra `dali`")
torch = pytest.importorskip("torch", reason="PyTorch is the optional extra `dali`")

from prepsuite.dali import ShardLoader  # noqa: E402
from prepsuite.textio import InputError  # noqa: E402
from test_dali import b64, jpeg, write_shard_dir  # noqa: E402

FAST = dict(device="cpu", size=24, num_workers=1, num_threads=1, prefetch=1, return_index=True)


@pytest.fixture(scope="module")
def four_rank_shards(tmp_path_factory) -> Path:
    """Shards for 4 ranks × 7 lines; the last line of rank 3 is padding, as `prep shard` writes it."""
    ranks = [[b64(jpeg(10 * r + i, 33 + 5 * i, 29 + 3 * r)) for i in range(7)] for r in range(4)]
    out = write_shard_dir(tmp_path_factory.mktemp("elastic") / "shards-4", ranks)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest.update(n=27, padding=1)
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def run(loaders, epochs=1):
    """Per step: the ranks' (images, labels, ids) concatenated in rank order."""
    steps = []
    for _ in range(epochs):
        per_rank = [[tuple(t.clone() for t in b) for b in loader] for loader in loaders]
        assert len({len(p) for p in per_rank}) == 1, "every rank runs the same number of steps"
        steps += [tuple(torch.cat(parts) for parts in zip(*batch)) for batch in zip(*per_rank)]
    return steps


def loaders_for(shards, M, G=8, **kw):
    return [ShardLoader(shards, G // M, rank=r, nranks=M, **FAST, **kw) for r in range(M)]


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert torch.equal(x[2], y[2]) and torch.equal(x[1], y[1]) and torch.equal(x[0], y[0])


def test_shards_for_4_ranks_load_with_1_2_and_8_ranks(four_rank_shards):
    one = loaders_for(four_rank_shards, 1)
    reference = run(one, epochs=2)
    assert len(one[0]) == 4 and len(reference) == 8  # ceil(27 / 8) steps per epoch
    epoch0 = torch.cat([s[2] for s in reference[:4]]).tolist()
    assert sorted(set(epoch0)) == list(range(27)), "no sample lost"
    assert len(epoch0) == 32 and 27 not in epoch0, "the last batch completed from the epoch's start"
    for M in (2, 8):
        loaders = loaders_for(four_rank_shards, M)
        assert {len(l) for l in loaders} == {4}
        assert_same(run(loaders, epochs=2), reference)  # same samples, same crops, bit for bit
        for l in loaders:
            l.close()
    for l in one:
        l.close()


def test_resume_with_another_world_size_continues_the_same_global_batches(four_rank_shards):
    reference = run(loaders_for(four_rank_shards, 1), epochs=2)
    two = loaders_for(four_rank_shards, 2)
    its = [iter(l) for l in two]
    for _ in range(3):
        for it in its:
            next(it)
    state = json.loads(json.dumps(two[0].state_dict()))  # as a checkpoint stores it
    assert (state["epoch"], state["batch"], state["global_batch"], state["nranks"]) == (0, 3, 8, 2)
    for l in two:
        l.close()
    four = loaders_for(four_rank_shards, 4)
    for l in four:
        l.load_state_dict(state)
    assert_same(run(four, epochs=2), reference[3:])
    with pytest.raises(ValueError, match=r"global_batch=8.*global_batch=16"):
        ShardLoader(four_rank_shards, 4, rank=0, nranks=4, **FAST).load_state_dict(state)


def test_node_local_files(four_rank_shards, tmp_path):
    """Node 0 of a 2-node job holds rank files 0 and 1 only: its ranks read those."""
    node = tmp_path / "node0"
    node.mkdir()
    for name in ("manifest.json", "index.db", "rank-00000-of-00004.b64", "rank-00001-of-00004.b64"):
        shutil.copy(four_rank_shards / name, node / name)
    full = run(loaders_for(four_rank_shards, 1, shuffle="local"))
    r0 = ShardLoader(node, 4, rank=0, nranks=2, **FAST)
    assert r0.shuffle == "local" and len(r0) == 4  # ceil(7 lines / 2 per file and step)
    got = run([r0])
    for mine, whole in zip(got, full):  # rank 0 of 2 takes the first half of each global batch
        assert torch.equal(mine[2], whole[2][:4]) and torch.equal(mine[0], whole[0][:4])
    assert all(g % 4 in (0, 1) for s in got for g in s[2].tolist())
    eight = [ShardLoader(node, 1, rank=r, nranks=8, **FAST) for r in range(4)]  # ranks 0-3 live here
    assert_same(run(eight), [tuple(t[:4] for t in s) for s in full])
    with pytest.raises(FileNotFoundError, match="rank 1 of 2 reads shard files 2..3 of 4"):
        ShardLoader(node, 4, rank=1, nranks=2, **FAST)
    with pytest.raises(ValueError, match="3 ranks cannot share them"):
        ShardLoader(node, 4, rank=0, nranks=3, **FAST)
    with pytest.raises(FileNotFoundError, match="shuffle='global' reads every shard file"):
        ShardLoader(node, 4, rank=0, nranks=2, shuffle="global", **FAST)


def test_labels_out_of_range_are_refused_with_file_and_line(four_rank_shards, tmp_path):
    # write_shard_dir labels line p of rank r with 100 * r + p.
    with pytest.raises(InputError, match=r"rank-00002-of-00004\.b64:1: label 200 is out of range for num_classes=150"):
        ShardLoader(four_rank_shards, 8, rank=0, nranks=1, num_classes=150, **FAST)
    ShardLoader(four_rank_shards, 8, rank=0, nranks=1, num_classes=307, **FAST).close()
    copy = tmp_path / "with-classes"
    shutil.copytree(four_rank_shards, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "num_classes": 306}))
    with pytest.raises(InputError, match=r"rank-00003-of-00004\.b64:7: label 306 is out of range"):
        ShardLoader(copy, 8, rank=0, nranks=1, **FAST)  # the default comes from the manifest
