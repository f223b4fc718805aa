"""`prep pack`: images/ + label.txt → base64 part files, then shard and verify them."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from prepsuite.shards import pack_images, shard_dataset, verify_shards
from test_shards_helpers import PHOTOS, jpeg_bytes, png_bytes, read_rejects, shard_lines, tree_bytes


@pytest.fixture
def images(tmp_path) -> tuple[Path, Path]:
    """A small images/ folder with label.txt, including the usual mistakes."""
    root = tmp_path / "images"
    (root / "cat").mkdir(parents=True)
    (root / "dog").mkdir()
    (root / "cat" / "a.jpg").write_bytes(jpeg_bytes((200, 0, 0)))
    (root / "cat" / "b c.jpg").write_bytes(jpeg_bytes((0, 200, 0)))  # a space in the name
    (root / "dog" / "d.png").write_bytes(png_bytes())
    (root / "dog" / "e.jpg").write_bytes(jpeg_bytes((0, 0, 200)))
    (root / "dog" / "notes.txt").write_text("not an image")
    (root / "dog" / "half.jpg").write_bytes(jpeg_bytes()[:150])
    (root / "dog" / "folder.jpg").mkdir()  # unreadable as a file
    (tmp_path / "secret.jpg").write_bytes(jpeg_bytes())
    labels = tmp_path / "label.txt"
    labels.write_text(
        "cat/a.jpg 0\n"
        "cat/b c.jpg 0\n"
        "\n"
        "dog/d.png 1\n"
        "dog/notes.txt 1\n"
        "dog/missing.jpg 1\n"
        "dog/e.jpg dog\n"
        "lonely-field\n"
        "../secret.jpg 1\n"
        f"{tmp_path / 'secret.jpg'} 1\n"
        "dog/half.jpg 1\n"
        "dog/e.jpg 1\n"
        "dog/folder.jpg 1\n"
    )
    return root, labels


def test_pack_writes_parts_file_list_and_rejects(images, tmp_path):
    root, labels = images
    result = pack_images(root, labels, tmp_path / "data", part_lines=2)
    data = tmp_path / "data"
    assert result.images == 4 and result.rejected == 8
    assert result.parts == ["part-00000.b64", "part-00001.b64"]
    assert (data / "file_list.txt").read_text() == "part-00000.b64\npart-00001.b64\n"
    lines = b"".join((data / p).read_bytes() for p in result.parts).splitlines()
    packed = [(base64.b64decode(line.split(b"\t")[0], validate=True), int(line.split(b"\t")[1])) for line in lines]
    assert packed == [
        ((root / "cat" / "a.jpg").read_bytes(), 0),
        ((root / "cat" / "b c.jpg").read_bytes(), 0),
        ((root / "dog" / "d.png").read_bytes(), 1),
        ((root / "dog" / "e.jpg").read_bytes(), 1),
    ]
    rejects = {(r[0], r[1]): r[2] for r in read_rejects(result.rejects)}
    assert rejects[("dog/notes.txt", "5")] == "not an image Pillow can identify"
    assert rejects[("dog/missing.jpg", "6")] == f"no such file in {root}"
    assert rejects[(str(labels), "7")] == "bad labels line: label 'dog' is not an integer"
    assert rejects[(str(labels), "8")] == "bad labels line: expected 'relative/path label'"
    assert rejects[("../secret.jpg", "9")].startswith("path escapes")
    assert rejects[(str(tmp_path / "secret.jpg"), "10")].startswith("path is an absolute path")
    assert rejects[("dog/half.jpg", "11")].startswith("corrupt image")
    assert rejects[("dog/folder.jpg", "13")] == "unreadable: Is a directory"
    assert result.rejected_by_reason == {"image": 2, "labels": 2, "missing": 1, "path": 2, "unreadable": 1}


def test_unreadable_files_are_rejected_with_the_reason(images, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every file: cannot make one unreadable")
    root, labels = images
    (root / "cat" / "a.jpg").chmod(0)
    result = pack_images(root, labels, tmp_path / "data")
    assert any(r[0] == "cat/a.jpg" and r[2].startswith("unreadable") for r in read_rejects(result.rejects))


def test_packed_data_shards_and_verifies(images, tmp_path):
    root, labels = images
    pack_images(root, labels, tmp_path / "data", part_lines=3)
    result = shard_dataset(tmp_path / "data", nranks=3, out=tmp_path / "out", check_images=True)
    assert result.n == 4 and result.rejected == 0 and result.per_rank_lines == 2
    assert verify_shards(tmp_path / "out", tmp_path / "data").ok


def test_pack_is_reproducible_and_atomic(images, tmp_path):
    root, labels = images
    pack_images(root, labels, tmp_path / "a")
    pack_images(root, labels, tmp_path / "b")
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    with pytest.raises(ValueError, match="pass --overwrite"):
        pack_images(root, labels, tmp_path / "a")
    pack_images(root, labels, tmp_path / "a", part_lines=1, overwrite=True)
    assert len((tmp_path / "a" / "file_list.txt").read_text().split()) == 4


def test_pack_refusals(images, tmp_path):
    root, labels = images
    with pytest.raises(ValueError, match="part_lines must be an integer >= 1"):
        pack_images(root, labels, tmp_path / "data", part_lines=0)
    with pytest.raises(ValueError, match="images directory not found"):
        pack_images(tmp_path / "nope", labels, tmp_path / "data")
    with pytest.raises(ValueError, match="labels file not found"):
        pack_images(root, tmp_path / "nope.txt", tmp_path / "data")
    only_bad = tmp_path / "bad.txt"
    only_bad.write_text("dog/notes.txt 1\n")
    with pytest.raises(ValueError, match=r"no image could be packed \(image: 1\)"):
        pack_images(root, only_bad, tmp_path / "data")
    with pytest.raises(ValueError, match="output directory would contain the images directory"):
        pack_images(root, labels, tmp_path, overwrite=True)
    assert not (tmp_path / "data").exists()


def test_prep_pack(images, tmp_path, prep):
    root, labels = images
    result = prep("pack", root, labels, "--out", tmp_path / "data", "--part-lines", "3")
    assert "pack: 4 images in 2 part files" in result.stderr and "8 rejected" in result.stderr
    result = prep("pack", root, labels, "--out", tmp_path / "data", ok=False)
    assert result.exit_code == 1 and "prep: error:" in result.stderr


# --- real photos ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def single_jpeg() -> Path:
    return PHOTOS / "single_jpeg"


def test_the_bundled_photos_pack_shard_and_verify(single_jpeg, tmp_path, prep):
    entries = (single_jpeg / "image_list.txt").read_text().split("\n")
    entries = [e for e in entries if e.strip()]
    prep("pack", single_jpeg, single_jpeg / "image_list.txt", "--out", tmp_path / "data", "--part-lines", "10")
    prep("shard", "--data-dir", tmp_path / "data", "--nranks", "8", "--out", tmp_path / "out", "--check-images")
    shards = shard_lines(tmp_path / "out")
    n = len(entries)
    assert n == 18
    assert [len(s) for s in shards] == [-(-n // 8)] * 8
    decoded = {base64.b64decode(line.split(b"\t")[0]) for s in shards for line in s}
    assert decoded == {(single_jpeg / e.rsplit(None, 1)[0]).read_bytes() for e in entries}
    result = prep("verify", tmp_path / "out", "--data-dir", tmp_path / "data")
    assert "verify: OK" in result.stdout


def test_the_bundled_subsampling_photos_pass_check_images(tmp_path):
    folder = PHOTOS / "single_mixed_0_subsampling"
    photos = sorted(p.relative_to(folder) for p in folder.rglob("*.jpg"))
    assert len(photos) == 14
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"{p} {i}\n" for i, p in enumerate(photos)))
    result = pack_images(folder, labels, tmp_path / "data")
    assert result.images == len(photos) and result.rejected == 0
