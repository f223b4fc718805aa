"""Outputs appear whole, and files written together appear together, whatever stops the run."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from prepsuite import textio
from prepsuite.cli import stop_on_sigterm
from prepsuite.textio import atomic_output, atomic_outputs


def _visible(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_an_output_appears_only_when_its_block_finishes(tmp_path):
    target = tmp_path / "out" / "corpus.txt"
    with atomic_output(target) as fh:
        fh.write("一 二\n")
        assert not target.exists()
    assert target.read_text(encoding="utf-8") == "一 二\n"
    assert _visible(target.parent) == ["corpus.txt"]


def test_an_error_leaves_no_file_of_a_group_behind(tmp_path):
    paths = [tmp_path / f"chunk-{k}.jsonl" for k in range(3)]
    with pytest.raises(RuntimeError):
        with atomic_outputs(paths) as files:
            for fh in files:
                fh.write("{}\n")
            raise RuntimeError("a damaged stream late in the dump")
    assert _visible(tmp_path) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_during_the_renames_takes_effect_after_the_last_one(tmp_path, monkeypatch, signum):
    """SIGTERM (a scheduler's stop) or Ctrl-C arriving between two renames: every file of the
    group is in place before the stop unwinds the program, so a directory of chunks is never a
    part of the dump that looks whole."""
    previous = signal.getsignal(signal.SIGTERM)
    stop_on_sigterm()  # SIGTERM raises SystemExit, as in `prep`
    try:
        real_replace = os.replace
        renamed: list[str] = []

        def replace_then_stop(src, dst):
            real_replace(src, dst)
            renamed.append(Path(dst).name)
            if len(renamed) == 1:
                os.kill(os.getpid(), signum)

        monkeypatch.setattr(textio.os, "replace", replace_then_stop)
        paths = [tmp_path / f"chunk-{k}-of-4.jsonl" for k in range(1, 5)]
        expected = KeyboardInterrupt if signum == signal.SIGINT else SystemExit
        with pytest.raises(expected):
            with atomic_outputs(paths) as files:
                for k, fh in enumerate(files):
                    fh.write(f'{{"id": {k}}}\n')
        assert renamed == [p.name for p in paths]
        assert _visible(tmp_path) == [p.name for p in paths]
        assert all(p.read_text() for p in paths)
        # the handlers the program had are back
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_temporary_taken_for_a_stale_one_before_it_was_locked_is_made_again(tmp_path):
    import tempfile

    from prepsuite.textio import locked_temporary

    made = []

    def make():
        fd, path = tempfile.mkstemp(dir=tmp_path)
        if not made:
            os.unlink(path)  # another run's clean-up got to it first
        made.append(path)
        return fd, path

    fd, path = locked_temporary(make)
    assert len(made) == 2 and path == made[1] and os.path.exists(path)
    os.close(fd)
