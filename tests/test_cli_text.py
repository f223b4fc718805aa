"""`prep` text commands, used the way the blog recipe used opencc and python -m jieba."""

import json
import signal

import pytest

COMMANDS = ["extract", "clean", "convert", "segment", "gather", "rules"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(prep, command):
    out = prep(command, "--help").output
    assert "Example:" in out
    assert "--help" in out


def test_top_level_help_lists_the_text_commands(prep):
    out = prep("--help").output
    for command in COMMANDS:
        assert command in out


def test_a_pipe_of_stages_on_plain_text(prep, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("北京是「首都」-{zh-hans:计算机;zh-hant:電腦}-（）\n\n漢字經歷了演變\n", encoding="utf-8")
    prep("clean", src, tmp_path / "c.txt", "--keep-empty")
    prep("convert", tmp_path / "c.txt", tmp_path / "v.txt")
    prep("segment", tmp_path / "v.txt", tmp_path / "s.txt")
    lines = (tmp_path / "s.txt").read_text(encoding="utf-8").splitlines()
    assert lines == ["北京 是 “ 首都 ” 计算机", "", "汉字 经历 了 演变"]


def test_stdin_to_stdout(prep):
    result = prep("convert", "-", "-", input="臺灣的軟體\n計算機\n".encode())
    assert result.stdout.splitlines() == ["台湾的软体", "计算机"]


def test_jsonl_keeps_other_fields(prep, tmp_path):
    src = tmp_path / "docs.jsonl"
    src.write_text(json.dumps({"id": 7, "title": "測試", "text": "漢字"}, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    prep("convert", src, tmp_path / "out.jsonl")
    doc = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert doc == {"id": 7, "title": "測試", "text": "汉字"}


def test_clean_drops_empty_documents_and_records_why(prep, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text('<doc id="1" title="x">\n正文\n</doc>\n（）\n', encoding="utf-8")
    result = prep("clean", src, tmp_path / "out.txt", "--rejects", tmp_path / "rejects.tsv",
                  "--stats", tmp_path / "stats.json")
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == "正文\n"
    rejects = (tmp_path / "rejects.tsv").read_text(encoding="utf-8").splitlines()
    assert rejects[0] == "source\tline\tid\ttitle\treason"
    assert [r.split("\t")[1] for r in rejects[1:]] == ["1", "3", "4"]
    assert all(r.split("\t")[2:4] == ["", ""] for r in rejects[1:])  # plain text: no page to name
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["rejected"] == {"empty_after_cleaning": 3}
    assert stats["docs_in"] == 4 and stats["docs_out"] == 1
    assert "3 rejected" in result.stderr


def test_invalid_utf8_bytes_are_dropped_and_counted(prep, tmp_path):
    src = tmp_path / "bad.txt"
    src.write_bytes("北京".encode() + b"\xff\xfe" + "首都\n".encode() + "正常\n".encode())
    prep("clean", src, tmp_path / "out.txt", "--stats", tmp_path / "stats.json")
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == "北京首都\n正常\n"
    counters = json.loads((tmp_path / "stats.json").read_text())["counters"]
    assert counters["invalid_utf8_bytes_dropped"] == 2
    assert counters["lines_with_invalid_utf8"] == 1


def test_unknown_opencc_config_is_one_clear_error(prep, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("漢字\n", encoding="utf-8")
    result = prep("convert", src, tmp_path / "out.txt", "--config", "s2t", ok=False)
    assert result.exit_code != 0
    assert "s2t" in result.output
    assert not (tmp_path / "out.txt").exists()


def test_library_refuses_unknown_config_before_writing(tmp_path):
    from prepsuite.text.files import convert_file

    src = tmp_path / "in.txt"
    src.write_text("漢字\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown OpenCC config 'zh2xx'"):
        convert_file(str(src), str(tmp_path / "out.txt"), config="zh2xx")
    assert list(tmp_path.iterdir()) == [src]


def test_bad_json_line_names_file_and_line_and_leaves_no_output(prep, tmp_path):
    src = tmp_path / "docs.jsonl"
    src.write_text('{"text": "好"}\n{"text": \n', encoding="utf-8")
    result = prep("segment", src, tmp_path / "out.jsonl", ok=False)
    assert result.exit_code == 1
    assert f"{src}: line 2: not valid JSON" in result.output
    assert not (tmp_path / "out.jsonl").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["docs.jsonl"]


@pytest.mark.parametrize("command", ["clean", "convert", "segment", "process"])
def test_an_escaped_lone_surrogate_names_file_and_line(prep, tmp_path, command):
    src = tmp_path / "docs.jsonl"
    src.write_text('{"id": 1, "text": "好"}\n{"id": 2, "text": "漢語\\ud800x"}\n', encoding="utf-8")
    result = prep(command, src, tmp_path / "out.jsonl", ok=False)
    assert result.exit_code == 1
    assert f"{src}: line 2: JSON line holds an escaped lone surrogate ('\\ud800')" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["docs.jsonl"]


@pytest.mark.parametrize("option, value, problem", [
    ("--rejects", "somedir", "somedir: is a directory"),
    ("--stats", "afile/stats.json", "afile is a file, not a directory"),
])
@pytest.mark.parametrize("command", ["clean", "process"])
def test_a_side_output_that_cannot_be_written_is_refused_before_any_output(prep, tmp_path, command, option,
                                                                          value, problem):
    src = tmp_path / "in.txt"
    src.write_text("漢字\n\n", encoding="utf-8")
    (tmp_path / "somedir").mkdir()
    (tmp_path / "afile").write_text("x")
    result = prep(command, src, tmp_path / "out.txt", option, tmp_path / value, ok=False)
    assert result.exit_code == 2
    assert problem in result.output
    assert not (tmp_path / "out.txt").exists()


def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    """`prep convert big.txt - | head -1` ends quietly, as opencc and jieba do."""
    import subprocess
    import sys

    src = tmp_path / "in.txt"
    src.write_text(("漢字 " * 50 + "\n") * 20000, encoding="utf-8")  # 3.5 MB, far past a pipe's buffer
    proc = subprocess.Popen([sys.executable, "-m", "prepsuite", "convert", str(src), "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().decode().startswith("汉字 汉字")
    proc.stdout.close()
    assert proc.wait(timeout=60) == 1
    assert proc.stderr.read() == b""


def test_sigterm_removes_the_temporary_output(tmp_path):
    """kill and SLURM stop a job with SIGTERM: it must not leave a temporary file behind."""
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "in.txt"
    src.write_text(("漢字 [[連結]] {{模板}} " * 40 + "\n") * 40000, encoding="utf-8")  # takes seconds to clean
    proc = subprocess.Popen([sys.executable, "-m", "prepsuite", "clean", str(src), str(tmp_path / "out.txt")],
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.txt.*.tmp")):
        assert proc.poll() is None and time.monotonic() < deadline, "no temporary output appeared"
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


def test_sigterm_kills_a_worker_forked_by_a_library_at_once(tmp_path):
    """A library may fork a pool from `prep` and stop it with SIGTERM (gensim's WikiCorpus does).
    A worker that unwound (SystemExit) while holding the pool's queue lock hung the pool and
    `prep` for good; so did one whose Python-level handler got the signal just before it blocked
    on that lock (the handler never ran). Only `prep`'s own process unwinds; a process forked
    from it has SIGTERM's default action back from its first instruction."""
    import subprocess
    import sys

    script = f"""
import multiprocessing, os, signal, sys, time
from pathlib import Path
from prepsuite import cli
cli.stop_on_sigterm()

def child():
    print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, flush=True)
    try:
        time.sleep(60)
    finally:
        Path({str(tmp_path / "unwound")!r}).write_text("the child unwound")

if __name__ == "__main__":
    p = multiprocessing.get_context("fork").Process(target=child)
    p.start()
    time.sleep(1)
    os.kill(p.pid, signal.SIGTERM)
    p.join(30)
    print(p.exitcode)
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # the main process itself still unwinds
        time.sleep(5)
    finally:
        print("main unwound")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["True", str(-signal.SIGTERM), "main", "unwound"], proc.stdout + proc.stderr
    assert proc.returncode == 128 + signal.SIGTERM
    assert not (tmp_path / "unwound").exists()


def test_a_byte_order_mark_is_not_a_token_and_dropped_bytes_are_reported(prep, tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes("\ufeff漢語詞典\n".encode() + b"\xff\xfe\xff\n")
    result = prep("segment", src, tmp_path / "out.txt")
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").split("\n")[0] == "漢語 詞典"
    assert "3 invalid UTF-8 bytes dropped" in result.stderr


def test_an_output_below_a_file_is_refused_clearly(prep, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("漢字\n", encoding="utf-8")
    result = prep("clean", src, tmp_path / "in.txt" / "out.txt", ok=False)
    assert result.exit_code == 1
    assert f"{tmp_path / 'in.txt'} is a file, not a directory" in result.output


def test_missing_input_file(prep, tmp_path):
    result = prep("clean", tmp_path / "nope.txt", tmp_path / "out.txt", ok=False)
    assert result.exit_code == 1
    assert "nope.txt: no such file" in result.output


def test_extract_errors_name_the_dump(prep, tmp_path):
    result = prep("extract", tmp_path / "zhwiki-missing.xml.bz2", tmp_path / "out", ok=False)
    assert result.exit_code == 1
    assert "zhwiki-missing.xml.bz2: dump not found" in result.output


def test_extract_command_writes_chunks(prep, sample_dump, tmp_path):
    prep("extract", sample_dump, tmp_path, "--chunks", "2", "--processes", "1",
         "--name-template", "part-{number}-of-{total}.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part-1-of-2.jsonl", "part-2-of-2.jsonl"]


def test_rules_lists_the_table_in_order(prep):
    lines = prep("rules").stdout.splitlines()
    assert lines[0].split()[1] == "doc_tags"
    assert lines[-1].split()[1] == "normalize_whitespace"


def test_the_prep_process_runs_the_cycle_collector_rarely():
    """`prep`'s entry point freezes what the imports made and raises the young generation's
    threshold, so a chunk job's millions of short-lived objects do not trigger hundreds of
    collections."""
    import subprocess
    import sys

    probe = ("import gc; from prepsuite.cli import GC_YOUNG_THRESHOLD, fewer_gc_passes; "
             "fewer_gc_passes(); print(gc.get_threshold()[0] == GC_YOUNG_THRESHOLD > 700, gc.get_freeze_count() > 0)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]
