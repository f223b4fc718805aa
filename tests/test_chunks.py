"""`chunks: auto`: how many chunks the workflow cuts a dump into when the config leaves it to us."""

import pytest

from prepsuite.text.chunks import AUTO_CHUNK_BYTES, MIN_CHUNK_BYTES, auto_chunks, resolve_chunks, usable_cpus


def dump_of(tmp_path, size: int, suffix: str = ".xml.bz2"):
    path = tmp_path / f"zhwiki-{size}-pages-articles-multistream{suffix}"
    with open(path, "wb") as f:
        f.truncate(size)  # sparse: only the size matters
    return path


def test_a_small_dump_gets_one_chunk_per_cpu(tmp_path):
    assert auto_chunks(dump_of(tmp_path, 30 << 20), cpus=2) == 2
    assert auto_chunks(dump_of(tmp_path, 30 << 20), cpus=16) == 16
    assert usable_cpus() >= 1


def test_a_tiny_dump_gets_fewer_chunks_than_cpus(tmp_path):
    """No chunk of less than 1 MiB of the dump: its job's start-up would outweigh its work."""
    assert auto_chunks(dump_of(tmp_path, 10), cpus=16) == 1
    assert auto_chunks(dump_of(tmp_path, 5 * MIN_CHUNK_BYTES), cpus=16) == 5
    assert auto_chunks(dump_of(tmp_path, 5 * MIN_CHUNK_BYTES + 1), cpus=16) == 6
    assert auto_chunks(tmp_path / "not-there.xml.bz2", cpus=3) == 1
    # an uncompressed dump is compared as bzip2 would shrink it (4x)
    assert auto_chunks(dump_of(tmp_path, 40 * MIN_CHUNK_BYTES, suffix=".xml"), cpus=16) == 10
    assert auto_chunks(dump_of(tmp_path, 1024 * AUTO_CHUNK_BYTES, suffix=".xml"), cpus=2) == 256


def test_a_big_dump_gets_whole_waves_of_bounded_chunks(tmp_path):
    # zhwiki's multistream dump is about 3 GB: 45 chunks of 64 MiB, rounded up to whole waves
    zhwiki = dump_of(tmp_path, 3000 * 10**6)
    assert auto_chunks(zhwiki, cpus=1) == 45
    assert auto_chunks(zhwiki, cpus=2) == 46
    assert auto_chunks(zhwiki, cpus=16) == 48
    assert auto_chunks(zhwiki, cpus=64) == 64
    assert auto_chunks(dump_of(tmp_path, 4 * AUTO_CHUNK_BYTES), cpus=4) == 4
    assert auto_chunks(dump_of(tmp_path, 4 * AUTO_CHUNK_BYTES + 1), cpus=4) == 8
    for cpus in (1, 2, 3, 7):
        n = auto_chunks(zhwiki, cpus=cpus)
        assert n % cpus == 0 and 3000 * 10**6 / n <= AUTO_CHUNK_BYTES


def test_the_setting_is_a_number_or_auto(tmp_path):
    dump = dump_of(tmp_path, 10)
    assert resolve_chunks(5, dump) == 5
    assert resolve_chunks("auto", dump) == resolve_chunks(" AUTO ", dump) == 1
    for bad in (0, -1, "8", "many", None, 2.5, True):
        with pytest.raises(ValueError, match="chunks: must be an integer >= 1 or auto"):
            resolve_chunks(bad, dump)
    with pytest.raises(ValueError, match="cpus must be >= 1"):
        auto_chunks(dump, cpus=0)


def test_a_container_cpu_quota_caps_the_cpus(monkeypatch, tmp_path):
    """A container limited to 1.5 CPUs may see all the host's CPUs in its affinity mask."""
    import prepsuite.text.chunks as chunks

    cgroup = tmp_path / "sys" / "kube" / "pod1"
    cgroup.mkdir(parents=True)
    (cgroup / "cpu.max").write_text("150000 100000\n")
    proc = tmp_path / "cgroup"
    proc.write_text("0::/kube/pod1\n")
    real_open = open

    def fake_open(path, *args, **kwargs):
        path = str(path)
        if path == "/proc/self/cgroup":
            return real_open(proc, *args, **kwargs)
        if path.startswith("/sys/fs/cgroup/"):
            return real_open(tmp_path / "sys" / path.removeprefix("/sys/fs/cgroup/"), *args, **kwargs)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    monkeypatch.setattr(chunks.os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert chunks._cgroup_cpu_limit() == 2 and chunks.usable_cpus() == 2
    (cgroup / "cpu.max").write_text("max 100000\n")
    assert chunks._cgroup_cpu_limit() is None and chunks.usable_cpus() == 64
