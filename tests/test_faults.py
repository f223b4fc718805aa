"""The fault table: hostile input and faults against the corpus workflow, `prep pack/shard/verify`
and the loader, one test per row.

Every row checks what a user relies on after a failure: the exit status; a one-line message that
names the file (and the line or byte where there is one); no output that looks finished (no
corpus, no shard directory, no hidden temporary left behind); the input unchanged (sha256); and,
where a rerun applies, the same bytes as an undisturbed run. Rows marked "defect" were holes a
fault audit found (issue 24); the others were handled already and must stay so.
"""

from __future__ import annotations

import base64
import bz2
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import prepsuite
from conftest import snakemake, snakemake_workdir
from test_shards_helpers import jpeg_bytes, make_dataset, read_manifest, read_rejects, tree_bytes

PREP = str(Path(sys.executable).with_name("prep"))

HEAD = ('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11">\n<siteinfo>'
        '<sitename>W</sitename><namespaces><namespace key="0" case="first-letter" />'
        '<namespace key="1" case="first-letter">Talk</namespace></namespaces></siteinfo>\n')


def page(i: int, text: str, ns: int = 0) -> str:
    return (f'<page><title>T{i}</title><ns>{ns}</ns><id>{i}</id><revision><id>{i}</id>'
            f'<timestamp>2026-01-01T00:00:00Z</timestamp><text xml:space="preserve">{text}</text>'
            '</revision></page>\n')


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(*dirs: Path) -> list[str]:
    """Hidden temporaries (``.NAME.*.tmp`` files, ``.OUT.tmp-*`` directories) under ``dirs``."""
    found = []
    for d in dirs:
        if d.is_dir():
            found += [str(p) for p in d.rglob(".*") if ".tmp" in p.name]
    return found


def run_prep(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`prep` as a user runs it, in a process of its own (exit status, stderr as written)."""
    return subprocess.run([PREP, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def one_error_line(proc: subprocess.CompletedProcess, *names: str) -> str:
    """The run failed with status 1 and one `prep: error:` line naming every one of ``names``."""
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("prep: error:")]
    assert len(errors) == 1, proc.stderr
    for name in names:
        assert name in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def tmpfs(tmp_path):
    """A small file system of its own (root only): ``tmpfs(size)`` mounts one, unmounted after."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("a full disk needs a small tmpfs, which only root can mount")
        where = tmp_path / f"fs{len(mounted)}"
        where.mkdir()
        try:
            proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                                  capture_output=True, text=True)
        except FileNotFoundError:
            pytest.skip("a full disk needs a small tmpfs, and there is no mount command here")
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


def text_file(path: Path, lines: int) -> Path:
    path.write_text("".join(f"这是第{i}行的文本，內容足夠長，用來測試磁盤寫滿的情況。" * 3 + "\n"
                            for i in range(lines)), encoding="utf-8")
    return path


# --- defect 1: a UTF-16 .xml.bz2 dump, and a dump without articles, gave an empty corpus ---------

@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"], ids=["bom", "no-bom"])
def test_defect_utf16_bz2_dump_fails_the_workflow_naming_the_dump(tmp_path, encoding):
    xml = bz2.decompress(Path(prepsuite.sample_dump()).read_bytes()).decode("utf-8")
    dump = tmp_path / "utf16.xml.bz2"
    dump.write_bytes(bz2.compress(xml.encode(encoding)))
    before = sha(dump)
    work = snakemake_workdir(tmp_path)
    proc = snakemake(work, "-j2", "corpus", "--config", f"dump={dump}", check=False)
    assert proc.returncode == 1
    assert f"{dump}: byte 0: the dump is UTF-16 encoded" in proc.stderr
    assert not (work / "results" / "corpus").exists()
    assert sha(dump) == before
    assert not leftovers(work / "results")


def test_defect_a_dump_without_articles_fails_the_workflow_naming_the_dump(tmp_path):
    dump = tmp_path / "talk-only.xml.bz2"
    dump.write_bytes(bz2.compress((HEAD + page(1, "讨论", ns=1) + page(2, "讨论二", ns=1)
                                   + "</mediawiki>\n").encode()))
    before = sha(dump)
    work = snakemake_workdir(tmp_path)
    proc = snakemake(work, "-j2", "corpus", "--config", f"dump={dump}", "chunks=2", check=False)
    assert proc.returncode == 1
    assert f"{dump}: no article found in the dump (2 pages read)" in proc.stderr
    assert not (work / "results" / "corpus" / "corpus.txt").exists()
    assert sha(dump) == before


# --- defect 2: --overwrite deleted any directory holding a manifest.json -------------------------

def test_defect_overwrite_refuses_a_directory_that_is_not_an_earlier_output(tmp_path):
    make_dataset(tmp_path / "ds", [5])
    proj = tmp_path / "proj"
    (proj / "src").mkdir(parents=True)
    (proj / "manifest.json").write_text('{"name": "app"}\n')
    (proj / "src" / "main.py").write_text("x\n")
    before = tree_bytes(proj)
    proc = run_prep("shard", "--data-dir", tmp_path / "ds", "--nranks", 2, "--out", proj, "--overwrite")
    one_error_line(proc, str(proj), "manifest.json is not a `prep shard` manifest", "refusing")
    assert tree_bytes(proj) == before

    # a real earlier output with a file of the user's added: refused, naming that file
    out = tmp_path / "out"
    assert run_prep("shard", "--data-dir", tmp_path / "ds", "--nranks", 2, "--out", out).returncode == 0
    (out / "notes.txt").write_text("mine\n")
    before = tree_bytes(out)
    proc = run_prep("shard", "--data-dir", tmp_path / "ds", "--nranks", 2, "--out", out, "--overwrite")
    one_error_line(proc, str(out), "notes.txt (a file)")
    assert tree_bytes(out) == before
    (out / "notes.txt").unlink()
    reference = tree_bytes(out)
    assert run_prep("shard", "--data-dir", tmp_path / "ds", "--nranks", 2, "--out", out,
                    "--overwrite").returncode == 0  # an earlier output, and only that, is replaced
    assert tree_bytes(out) == reference and not leftovers(tmp_path)


def test_defect_pack_overwrite_refuses_a_directory_that_is_not_an_earlier_output(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.jpg").write_bytes(jpeg_bytes())
    labels = tmp_path / "labels.txt"
    labels.write_text("a.jpg 1\n")
    out = tmp_path / "packed"
    assert run_prep("pack", images, labels, "--out", out).returncode == 0
    (out / "src").mkdir()
    (out / "src" / "main.py").write_text("x\n")
    before = tree_bytes(out)
    proc = run_prep("pack", images, labels, "--out", out, "--overwrite")
    one_error_line(proc, str(out), "src (a directory)")
    assert tree_bytes(out) == before
    (out / "src" / "main.py").unlink()
    (out / "src").rmdir()
    # shards written inside the data directory are not pack's to delete (a job may read them)
    assert run_prep("shard", "--data-dir", out, "--nranks", 1, "--out", out / "shards-1").returncode == 0
    one_error_line(run_prep("pack", images, labels, "--out", out, "--overwrite"), "shards-1 (a directory)")
    assert (out / "shards-1" / "manifest.json").is_file()
    (out / "shards-1" / "manifest.json").unlink()
    for f in (out / "shards-1").iterdir():
        f.unlink()
    (out / "shards-1").rmdir()
    assert run_prep("pack", images, labels, "--out", out, "--overwrite").returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["file_list.txt", "part-00000.b64", "rejects.tsv"]


# --- defect 3: a full disk left a hidden temporary and named no file ------------------------------

def test_defect_disk_full_removes_the_temporary_and_names_the_file(tmp_path, tmpfs):
    source = text_file(tmp_path / "in.txt", 3000)  # ~700 kB in, more out
    before = sha(source)
    small = tmpfs("256k")
    proc = run_prep("process", source, small / "chunk.txt", "--rejects", small / "rejects.tsv",
                    "--stats", small / "stats.json", "--convert-engine", "python")
    line = one_error_line(proc, f"{small / 'chunk.txt'}: no space left on device")
    assert line == f"prep: error: {small / 'chunk.txt'}: no space left on device"
    assert sorted(os.listdir(small)) == []  # no temporary, no output
    assert sha(source) == before
    # with room, the same command gives what an undisturbed run gives
    room = tmpfs("8m")
    assert run_prep("process", source, room / "chunk.txt", "--convert-engine", "python").returncode == 0
    assert run_prep("process", source, tmp_path / "ref.txt", "--convert-engine", "python").returncode == 0
    assert sha(room / "chunk.txt") == sha(tmp_path / "ref.txt")


def test_defect_disk_full_for_shards_is_refused_before_writing_with_the_figures(tmp_path, tmpfs):
    make_dataset(tmp_path / "ds", [400, 400], seed=3)
    before = tree_bytes(tmp_path / "ds")
    small = tmpfs("64k")
    proc = run_prep("shard", "--data-dir", tmp_path / "ds", "--nranks", 4, "--out", small / "shards")
    line = one_error_line(proc, f"{small / 'shards'}: not enough free space for the output: it needs")
    assert "kB is free" in line
    assert os.listdir(small) == []
    assert tree_bytes(tmp_path / "ds") == before


# --- defect 4: no upper bound on --nranks ---------------------------------------------------------

def test_defect_more_ranks_than_valid_lines_is_refused_before_writing(tmp_path):
    make_dataset(tmp_path / "ds", [40, 7])
    before = tree_bytes(tmp_path / "ds")
    out = tmp_path / "out"
    proc = run_prep("shard", "--data-dir", tmp_path / "ds", "--nranks", 5000000, "--out", out)
    one_error_line(proc, str(tmp_path / "ds" / "file_list.txt"), "--nranks 5000000 is more than the 47 valid lines",
                   "--allow-more-ranks-than-lines")
    assert not out.exists() and not leftovers(tmp_path)
    assert tree_bytes(tmp_path / "ds") == before
    proc = run_prep("shard", "--data-dir", tmp_path / "ds", "--nranks", 50, "--out", out,
                    "--allow-more-ranks-than-lines")
    assert proc.returncode == 0, proc.stderr
    assert read_manifest(out)["padding"] == 3


# --- defect 5: symbolic links got around "entries stay inside the data directory" ----------------

def test_defect_a_symlink_out_of_the_data_dir_is_refused_without_reading_it(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = b"root:x:0:0:SECRET-LINE\n"
    (outside / "passwd").write_bytes(secret)
    ds = tmp_path / "ds"
    make_dataset(ds, [5])
    (ds / "etcdir").symlink_to(outside)
    with open(ds / "file_list.txt", "a") as fh:
        fh.write("etcdir/passwd\n")
    before = tree_bytes(ds)
    proc = run_prep("shard", "--data-dir", ds, "--nranks", 2, "--out", tmp_path / "out")
    one_error_line(proc, f"{ds / 'file_list.txt'}: line 2", "'etcdir/passwd'", "symbolic link")
    assert "SECRET" not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists() and not leftovers(tmp_path)
    assert tree_bytes(ds) == before


def test_defect_pack_rejects_an_image_reached_through_a_symlink_out_of_the_images_dir(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(jpeg_bytes((1, 2, 3)))
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.jpg").write_bytes(jpeg_bytes())
    (images / "link").symlink_to(outside)
    labels = tmp_path / "labels.txt"
    labels.write_text("a.jpg 0\nlink/secret.jpg 1\n")
    proc = run_prep("pack", images, labels, "--out", tmp_path / "packed")
    assert proc.returncode == 0, proc.stderr
    rows = read_rejects(tmp_path / "packed" / "rejects.tsv")
    assert rows == [["link/secret.jpg", "2", f"path leads outside {images} through a symbolic link; "
                     "images must stay inside it"]]
    packed = (tmp_path / "packed" / "part-00000.b64").read_bytes()
    assert packed == base64.b64encode(jpeg_bytes()) + b"\t0\n"


# --- smaller defects ----------------------------------------------------------------------------

def test_defect_stale_temporaries_of_a_killed_run_are_removed_by_the_next_run(tmp_path):
    source = text_file(tmp_path / "in.txt", 20)
    out_dir = tmp_path / "results"
    out_dir.mkdir()
    stale = out_dir / ".clean.txt.abcd1234.tmp"  # what a SIGKILLed run leaves
    stale.write_text("half")
    busy = out_dir / ".clean.txt.zzzz9999.tmp"  # a run still writing it holds its lock
    busy.write_text("busy")
    other = out_dir / ".other.txt.abcd1234.tmp"  # another output's: not ours to remove
    other.write_text("other")
    with open(busy) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = run_prep("clean", source, out_dir / "clean.txt")
    assert proc.returncode == 0, proc.stderr
    assert not stale.exists() and busy.exists() and other.exists()

    make_dataset(tmp_path / "ds", [6])
    shards = tmp_path / "shards"
    stale_dir = tmp_path / ".shards.tmp-abcd1234"
    (stale_dir / "rank-00000-of-00002.b64").parent.mkdir()
    (stale_dir / "rank-00000-of-00002.b64").write_text("half")
    assert run_prep("shard", "--data-dir", tmp_path / "ds", "--nranks", 2, "--out", shards).returncode == 0
    assert not stale_dir.exists()


def test_kill_9_mid_run_then_rerun_gives_the_same_bytes_and_no_leftover(tmp_path):
    source = text_file(tmp_path / "in.txt", 20000)
    before = sha(source)
    out = tmp_path / "out" / "chunk.txt"
    reference = tmp_path / "ref.txt"
    assert run_prep("process", source, reference, "--convert-engine", "python").returncode == 0
    proc = subprocess.Popen([PREP, "process", str(source), str(out), "--convert-engine", "python"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not leftovers(tmp_path / "out") and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.returncode != -signal.SIGKILL:
        pytest.skip("the run finished before it could be killed")
    assert not out.exists()  # nothing looks finished
    assert leftovers(tmp_path / "out")  # the killed run's temporary, as large as the output
    assert run_prep("process", source, out, "--convert-engine", "python").returncode == 0
    assert sha(out) == sha(reference)
    assert not leftovers(tmp_path / "out")
    assert sha(source) == before


def test_defect_an_empty_part_file_is_counted_and_warned(tmp_path):
    ds = tmp_path / "ds"
    make_dataset(ds, [4, 3])
    (ds / "part-empty").write_bytes(b"")
    with open(ds / "file_list.txt", "a") as fh:
        fh.write("part-empty\n")
    proc = run_prep("shard", "--data-dir", ds, "--nranks", 2, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "shard: warning: 1 empty part file (no lines): part-empty" in proc.stderr
    assert read_manifest(tmp_path / "out")["empty_parts"] == ["part-empty"]


def test_defect_the_manifest_records_the_label_range_for_the_loader(tmp_path):
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "p").write_bytes(b"".join(base64.b64encode(b"img%d" % i) + b"\t%d\n" % label
                                    for i, label in enumerate([0, 3, 3, 7])))
    (ds / "file_list.txt").write_text("p\n")
    assert run_prep("shard", "--data-dir", ds, "--nranks", 2, "--out", tmp_path / "out").returncode == 0
    manifest = read_manifest(tmp_path / "out")
    assert (manifest["num_classes"], manifest["distinct_labels"]) == (8, 3)
    assert (manifest["label_min"], manifest["label_max"]) == (0, 7)


# --- handled already: the corpus side -----------------------------------------------------------

def _extract_refused(tmp_path: Path, dump: Path, *names: str) -> None:
    existed = dump.exists()
    before = sha(dump) if existed else None
    proc = run_prep("extract", dump, tmp_path / "chunks", "--chunks", 2)
    one_error_line(proc, str(dump), *names)
    assert not (tmp_path / "chunks").exists() or not any((tmp_path / "chunks").iterdir())
    if existed:
        assert sha(dump) == before


def test_missing_dump(tmp_path):
    _extract_refused(tmp_path, tmp_path / "nowhere.xml.bz2", "dump not found")


def test_truncated_bz2(tmp_path):
    data = Path(prepsuite.sample_dump()).read_bytes()
    cut = tmp_path / "cut.xml.bz2"
    cut.write_bytes(data[: len(data) // 2])
    _extract_refused(tmp_path, cut, "truncated bz2 stream", "byte ")


def test_non_mediawiki_xml(tmp_path):
    other = tmp_path / "feed.xml"
    other.write_text('<?xml version="1.0"?>\n<rss><channel/></rss>\n')
    _extract_refused(tmp_path, other, "byte 0: not a MediaWiki XML export")


def test_invalid_utf8_in_page_text(tmp_path):
    dump = tmp_path / "bad.xml"
    dump.write_bytes((HEAD + page(1, "中文")).encode() + page(2, "坏\udcff").encode("utf-8", "surrogateescape")
                     + (page(3, "好") + "</mediawiki>\n").encode())
    _extract_refused(tmp_path, dump, "line 4, column", "'T2'")


def test_empty_text_is_dropped_and_named_in_the_rejects(tmp_path):
    dump = tmp_path / "empty.xml"
    dump.write_text(HEAD + page(1, "中文内容") + '<page><title>E</title><ns>0</ns><id>2</id><revision>'
                    '<id>2</id><text xml:space="preserve" /></revision></page>\n' + page(3, "好")
                    + "</mediawiki>\n", encoding="utf-8")
    assert run_prep("extract", dump, tmp_path / "x", "--chunks", 1).returncode == 0
    chunk = tmp_path / "x" / "chunk-000.jsonl"
    proc = run_prep("process", chunk, tmp_path / "seg.jsonl", "--rejects", tmp_path / "rej.tsv",
                    "--convert-engine", "python")
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["id"] for line in (tmp_path / "seg.jsonl").read_text().splitlines()] == [1, 3]
    rows = (tmp_path / "rej.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0].split("\t")[:2] == ["source", "line"]
    assert [row.split("\t")[:2] for row in rows[1:]] == [[str(chunk), "2"]]


# --- handled already: the shards side -----------------------------------------------------------

@pytest.mark.parametrize("bad, reason", [(b"not*base64!\t1", "invalid base64: byte '*' at column 4"),
                                         (base64.b64encode(b"img") + b"\tcat", "label is not an integer")],
                         ids=["malformed-base64", "non-integer-label"])
def test_bad_lines_are_rejected_by_file_and_line_and_refused_under_strict(tmp_path, bad, reason):
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "p").write_bytes(base64.b64encode(b"a") + b"\t0\n" + bad + b"\n" + base64.b64encode(b"b") + b"\t1\n")
    (ds / "file_list.txt").write_text("p\n")
    before = tree_bytes(ds)
    proc = run_prep("shard", "--data-dir", ds, "--nranks", 2, "--out", tmp_path / "strict", "--strict")
    one_error_line(proc, f"{ds / 'p'}: line 2 (byte 7)", reason)
    assert not (tmp_path / "strict").exists() and not leftovers(tmp_path)
    for run in ("a", "b"):  # rejected, and the same bytes on a rerun
        assert run_prep("shard", "--data-dir", ds, "--nranks", 2, "--out", tmp_path / run).returncode == 0
    assert [r[:2] for r in read_rejects(tmp_path / "a" / "rejects.tsv")] == [["p", "2"]]
    assert reason in read_rejects(tmp_path / "a" / "rejects.tsv")[0][2]
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    assert tree_bytes(ds) == before


@pytest.mark.parametrize("entry, problem", [("../elsewhere", "escapes"), ("/etc/passwd", "absolute path"),
                                            ("part-99999", "not found")],
                         ids=["path-escape", "absolute-path", "missing-part"])
def test_file_list_entries_that_cannot_be_used_are_refused_by_line(tmp_path, entry, problem):
    ds = tmp_path / "ds"
    make_dataset(ds, [4])
    with open(ds / "file_list.txt", "a") as fh:
        fh.write(entry + "\n")
    before = tree_bytes(ds)
    proc = run_prep("shard", "--data-dir", ds, "--nranks", 2, "--out", tmp_path / "out")
    one_error_line(proc, f"{ds / 'file_list.txt'}: line 2", repr(entry), problem)
    assert not (tmp_path / "out").exists() and not leftovers(tmp_path)
    assert tree_bytes(ds) == before


@pytest.mark.parametrize("nranks", ["0", "-3"])
def test_nranks_zero_and_negative(tmp_path, nranks):
    make_dataset(tmp_path / "ds", [4])
    before = tree_bytes(tmp_path / "ds")
    proc = run_prep("shard", "--data-dir", tmp_path / "ds", "--nranks", nranks, "--out", tmp_path / "out")
    one_error_line(proc, f"nranks must be an integer >= 1, got {nranks}")
    assert not (tmp_path / "out").exists() and not leftovers(tmp_path)
    assert tree_bytes(tmp_path / "ds") == before


def test_tampered_shards_fail_verify_naming_the_shard(tmp_path):
    make_dataset(tmp_path / "ds", [9])
    out = tmp_path / "out"
    assert run_prep("shard", "--data-dir", tmp_path / "ds", "--nranks", 3, "--out", out).returncode == 0
    shard = out / "rank-00001-of-00003.b64"
    data = bytearray(shard.read_bytes())
    data[5] = ord("A") if data[5] != ord("A") else ord("B")
    shard.write_bytes(bytes(data))
    before = tree_bytes(tmp_path / "ds")
    proc = run_prep("verify", out, "--data-dir", tmp_path / "ds")
    assert proc.returncode == 1 and tree_bytes(tmp_path / "ds") == before
    assert "rank-00001-of-00003.b64" in proc.stdout and "verify: FAILED" in proc.stdout


def test_undecodable_image_in_the_loader_is_named_by_shard_and_line(tmp_path):
    pytest.importorskip("nvidia.dali")
    from prepsuite.dali import ShardLoader
    from prepsuite.textio import InputError

    ds = tmp_path / "ds"
    ds.mkdir()
    good = base64.b64encode(jpeg_bytes())
    cut = base64.b64encode(jpeg_bytes((9, 9, 9), (64, 48))[:300])  # passes the line check, not a decoder
    (ds / "p").write_bytes(b"".join(line + b"\t0\n" for line in [good, good, cut, good]))
    (ds / "file_list.txt").write_text("p\n")
    assert run_prep("shard", "--data-dir", ds, "--nranks", 1, "--out", tmp_path / "out").returncode == 0
    line = next(i for i, text in enumerate((tmp_path / "out" / "rank-00000-of-00001.b64").read_bytes()
                                           .splitlines(), start=1) if text.startswith(cut))
    loader = ShardLoader(tmp_path / "out", 4, rank=0, nranks=1, device="cpu", size=32, num_workers=1)
    with pytest.raises(InputError) as err:
        for _ in loader:
            pass
    assert "rank-00000-of-00001.b64" in str(err.value) and f"line {line}" in str(err.value)
    loader.close()


def test_rank_count_that_cannot_share_node_local_shards_is_refused(tmp_path):
    """Shards load with any world size (the loader is elastic); what stays an error is node-local
    shard files (shuffle='local') with a rank count that neither divides nor is a multiple of
    the shard count: refused before anything is read, saying what to do."""
    pytest.importorskip("nvidia.dali")
    from prepsuite.dali import ShardLoader

    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "p").write_bytes(b"".join(base64.b64encode(jpeg_bytes((i, i, i))) + b"\t0\n" for i in range(8)))
    (ds / "file_list.txt").write_text("p\n")
    out = tmp_path / "out"
    assert run_prep("shard", "--data-dir", ds, "--nranks", 4, "--out", out).returncode == 0
    before = tree_bytes(out)
    with pytest.raises(ValueError, match=r"^\S*out: the shards were written for 4 ranks.*3 ranks cannot share them.*prep shard --nranks 3"):
        ShardLoader(out, 4, rank=0, nranks=3, shuffle="local", device="cpu", size=32)
    assert tree_bytes(out) == before


def test_defect_a_dump_whose_articles_all_clean_away_names_the_dump(tmp_path):
    from prepsuite.stats import StageStats
    from prepsuite.text.gather import gather_corpus
    from prepsuite.textio import InputError

    dump = tmp_path / "d.xml.bz2"
    dump.write_bytes(b"BZh9 not empty")
    chunk = tmp_path / "chunk-1-of-1.txt"
    chunk.write_text("\n\n")  # two documents, both empty after cleaning
    extract = StageStats("extract", docs_in=3, docs_out=2)
    extract.counters["pages"] = 3
    stats = tmp_path / "stats.json"
    stats.write_text(json.dumps([extract.to_dict()]))
    with pytest.raises(InputError, match=r"d\.xml\.bz2: none of its 2 articles has text left after cleaning"):
        gather_corpus([chunk], tmp_path / "corpus.txt", [stats], tmp_path / "stats-out.json", dump=dump)
    assert not (tmp_path / "corpus.txt").exists() and not (tmp_path / "stats-out.json").exists()
    assert not leftovers(tmp_path)


def test_snakemake_killed_with_sigkill_resumes_after_unlock_to_the_same_bytes(tmp_path):
    """SIGKILL of Snakemake itself leaves its lock: the next run refuses, saying to unlock, and
    after `snakemake --unlock` the same command finishes with an undisturbed run's bytes
    (docs/bad-input.md, "Stopping and resuming")."""
    (tmp_path / "reference").mkdir()
    (tmp_path / "killed").mkdir()
    reference = snakemake_workdir(tmp_path / "reference")
    snakemake(reference, "-j2", "corpus", "--config", "chunks=8")
    work = snakemake_workdir(tmp_path / "killed")
    exe = Path(sys.executable).with_name("snakemake")
    proc = subprocess.Popen([str(exe), "-j1", "corpus", "--config", "chunks=8"], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    segments = work / "results" / "segment"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and not (
            segments.is_dir() and any(p.name.startswith("chunk-") for p in segments.iterdir())):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.returncode != -signal.SIGKILL:
        pytest.skip("the run finished before it could be killed")
    assert not (work / "results" / "corpus" / "corpus.txt").exists()
    again = snakemake(work, "-j2", "corpus", "--config", "chunks=8", check=False)
    assert again.returncode != 0 and "--unlock" in again.stderr
    snakemake(work, "--unlock")
    snakemake(work, "-j2", "corpus", "--config", "chunks=8")
    corpus = "results/corpus/corpus.txt"
    assert sha(work / corpus) == sha(reference / corpus)
