"""The test-set parsers read every layout users find, and name file and line when one is bad."""

from __future__ import annotations

import pytest

from prepsuite.textio import InputError
from prepsuite.w2v.formats import read_analogies, read_similarity

ANALOGIES = [("北京", "中国", "东京", "日本"), ("男人", "女人", "国王", "王后")]
PAIRS = [("老虎", "猫", 7.35), ("书", "纸", 7.46), ("电脑", "键盘", -0.5), ("cup", "coffee", 6.58e0)]


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# --- analogies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        ": capital\n北京 中国 东京 日本\n: gender\n男人 女人 国王 王后\n",  # the Google/CA8 layout
        ": capital\r\n北京 中国 东京 日本\r\n: gender\r\n男人 女人 国王 王后\r\n",  # CRLF
        "\ufeff: capital\n北京 中国 东京 日本\n: gender\n男人 女人 国王 王后",  # BOM, no final newline
        ":capital\n北京\t中国\t东京\t日本\n:  gender \n男人  女人 \t国王 王后  \n",  # tabs, runs, ':name'
        "# comment\n\n: capital\n\n北京 中国 东京 日本\n# another\n: gender\n男人 女人 国王 王后\n\n",
    ],
    ids=["lf", "crlf", "bom", "tabs-and-spaces", "blank-and-comment-lines"],
)
def test_analogy_layouts(tmp_path, text):
    parsed = read_analogies(write(tmp_path, "analogy.txt", text))
    assert [s.name for s in parsed.sections] == ["capital", "gender"]
    assert [q for s in parsed.sections for q in s.questions] == ANALOGIES
    assert parsed.questions == 2


def test_analogy_questions_before_any_header_form_a_section_named_after_the_file(tmp_path):
    parsed = read_analogies(write(tmp_path, "my-set.txt", "北京 中国 东京 日本\n: gender\n男人 女人 国王 王后\n"))
    assert [(s.name, len(s.questions)) for s in parsed.sections] == [("my-set", 1), ("gender", 1)]


def test_analogy_empty_section_is_kept(tmp_path):
    parsed = read_analogies(write(tmp_path, "a.txt", ": empty\n: capital\n北京 中国 东京 日本\n"))
    assert [(s.name, len(s.questions)) for s in parsed.sections] == [("empty", 0), ("capital", 1)]


@pytest.mark.parametrize(
    "text, line, message",
    [
        (": capital\n北京 中国 东京 日本\n北京 中国 东京\n", 3, "expected four words"),
        (": capital\n北京 中国 东京 日本 韩国\n", 2, "found 5 fields"),
        (": capital\n\n北京\n", 3, "found 1 field"),
        (":\n北京 中国 东京 日本\n", 1, "section header ':' has no name"),
    ],
)
def test_bad_analogy_lines_name_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(InputError) as e:
        read_analogies(path)
    assert f"{path}: line {line}: " in str(e.value)
    assert message in str(e.value)


def test_analogy_file_without_questions(tmp_path):
    path = write(tmp_path, "empty.txt", ": capital\n# nothing here\n")
    with pytest.raises(InputError, match="no analogy questions"):
        read_analogies(path)


# --- similarity ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, header",
    [
        ("老虎\t猫\t7.35\n书\t纸\t7.46\n电脑\t键盘\t-0.5\ncup\tcoffee\t6.58e0\n", None),
        ("老虎 猫 7.35\n书 纸 7.46\n电脑 键盘 -0.5\ncup coffee 6.58e0\n", None),
        ("老虎   猫\t 7.35\n书\t纸 7.46\n电脑  键盘  -0.5\ncup\t\tcoffee 6.58e0\n", None),
        ("word1\tword2\tscore\n老虎\t猫\t7.35\n书\t纸\t7.46\n电脑\t键盘\t-0.5\ncup\tcoffee\t6.58e0\n",
         "word1\tword2\tscore"),
        ("Word 1\tWord 2\tHuman (mean)\r\n老虎\t猫\t7.35\r\n书\t纸\t7.46\r\n电脑\t键盘\t-0.5\r\ncup\tcoffee\t6.58e0\r\n",
         "Word 1\tWord 2\tHuman (mean)"),
        ("\ufeffword1 word2 sim\r\n老虎 猫 7.35\r\n书 纸 7.46\r\n电脑 键盘 -0.5\r\ncup coffee 6.58e0", "word1 word2 sim"),
        ("# a comment\n\n老虎 猫 7.35\n书 纸 7.46\n\n电脑 键盘 -0.5\n# more\ncup coffee 6.58e0\n", None),
    ],
    ids=["tabs", "spaces", "mixed", "header", "wordsim353-header-crlf", "bom-header-crlf-no-final-newline",
         "comments-and-blank-lines"],
)
def test_similarity_layouts(tmp_path, text, header):
    parsed = read_similarity(write(tmp_path, "sim.txt", text))
    assert parsed.pairs == PAIRS
    assert parsed.header == header


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("老虎 猫 7.35\n书 纸\n", 2, "expected two words and a score separated by tabs or spaces, found 2 fields"),
        ("老虎 猫 7.35\n书 纸 7.46 9\n", 2, "found 4 fields"),
        ("老虎 猫 7.35\n\n书 纸 high\n", 3, "score 'high' is not a number"),
        ("word1 word2 score\n老虎 猫 7,35\n", 2, "score '7,35' is not a number"),
        ("老虎 猫 7.35\n书 纸 nan\n", 2, "score 'nan' is not a number"),
        ("love,sex,6.77\nlove,car,5.77\n", 2, "found 1 field"),  # CSV is not a supported layout
    ],
    ids=["too-few-columns", "too-many-columns", "word-score", "decimal-comma", "nan", "csv"],
)
def test_bad_similarity_lines_name_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(InputError) as e:
        read_similarity(path)
    assert str(e.value).startswith(f"{path}: line {line}: ")
    assert message in str(e.value)


@pytest.mark.parametrize("text", ["", "\n\n", "word1 word2 score\n", "# only a comment\n"])
def test_similarity_file_without_pairs(tmp_path, text):
    with pytest.raises(InputError, match="no word pairs"):
        read_similarity(write(tmp_path, "empty.txt", text))


@pytest.mark.parametrize("reader", [read_analogies, read_similarity])
def test_missing_and_non_utf8_files(tmp_path, reader):
    with pytest.raises(InputError, match="no such file"):
        reader(tmp_path / "missing.txt")
    path = write(tmp_path, "gbk.txt", "老虎 猫 狗 虎\n", "gbk")
    with pytest.raises(InputError) as e:
        reader(path)
    assert f"{path}: line 1: not valid UTF-8" in str(e.value)
