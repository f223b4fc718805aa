"""Helpers shared by the rank-shard tests (datasets of base64 lines, reading shards back).

No tests here; the test modules import these functions.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
from pathlib import Path

import prepsuite

# The bundled CC0 photos (src/prepsuite/data/photos, see its README.md).
PHOTOS = prepsuite.sample_photos()


def b64_line(i: int, rng: random.Random, size: int | None = None) -> bytes:
    """A unique valid line: base64 of (index + random bytes), TAB, a label."""
    payload = i.to_bytes(4, "big") + rng.randbytes(size if size is not None else rng.randint(0, 60))
    return base64.b64encode(payload) + b"\t" + str(rng.randint(0, 999)).encode()


def make_dataset(data_dir: Path, counts: list[int], seed: int = 0, newline_at_end: bool = True,
                 names: list[str] | None = None) -> list[bytes]:
    """Part files holding ``counts[k]`` valid lines each and a ``file_list.txt`` naming them;
    returns every line (without newline) in source order."""
    rng = random.Random(seed)
    data_dir.mkdir(parents=True, exist_ok=True)
    names = names or [f"part-{k:05d}" for k in range(len(counts))]
    lines: list[bytes] = []
    for name, count in zip(names, counts):
        part = [b64_line(len(lines) + j, rng) for j in range(count)]
        lines += part
        body = b"\n".join(part) + (b"\n" if part and newline_at_end else b"")
        (data_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / name).write_bytes(body)
    (data_dir / "file_list.txt").write_text("".join(f"{n}\n" for n in names))
    return lines


def write_part(data_dir: Path, name: str, lines: list[bytes], file_list: bool = True) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / name).write_bytes(b"".join(line + b"\n" for line in lines))
    if file_list:
        (data_dir / "file_list.txt").write_text(f"{name}\n")


def shard_lines(out: Path) -> list[list[bytes]]:
    """Every rank's lines (without newlines), rank by rank, as the manifest lists them."""
    manifest = read_manifest(out)
    result = []
    for rank in manifest["ranks"]:
        data = (out / rank["file"]).read_bytes()
        assert data.endswith(b"\n") or not data
        result.append(data.split(b"\n")[:-1])
    return result


def read_manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def read_rejects(path: Path) -> list[list[str]]:
    rows = path.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "source\tline\treason"
    return [row.split("\t") for row in rows[1:]]


def tree_bytes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path (to compare runs and inputs)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def jpeg_bytes(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (16, 12)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG")
    return buf.getvalue()


def png_bytes(size: tuple[int, int] = (5, 7)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", size, 128).save(buf, format="PNG")
    return buf.getvalue()
