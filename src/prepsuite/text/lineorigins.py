"""Where the lines of an XML document made of parts of a file come from.

A chunk job parses one document: the dump's header, the pages of its bz2 streams (or blocks),
and a closing tag. The parser can only name a line and column of that document, which is no
place a user can find in the dump. The chunk's reader notes which part each stretch of lines
came from, so the error can name the part (a bz2 stream by its byte offset, which any bz2 tool
can decompress from there) and the line and column within the part's own text.
"""

from __future__ import annotations

from bisect import bisect_right

from ..textio import InputError


class LineOrigins:
    """The parts of a document, in order, by the line each one begins on."""

    def __init__(self) -> None:
        self._lines: list[int] = []  # line of each part's first byte
        self._columns: list[int] = []  # bytes before it on that line (0: it begins a line)
        self._parts: list[str] = []
        self._numbered: list[bool] = []  # whether a place in the part is named by line and column
        self._starts: list[tuple[int, int]] = []  # line and column in the part's own text of its first byte fed
        self._newlines = 0
        self._column = 0  # bytes since the last newline fed

    def begin(self, part: str, numbered: bool = True, start: tuple[int, int] = (1, 0)) -> None:
        """The bytes fed from now on come from ``part`` (e.g. "bz2 stream at byte 1234");
        ``numbered=False`` for bytes added by the reader (a closing tag), in which a line and
        column would mean nothing to the user. ``start``: the line (1-based) and the bytes before
        it on that line, in the part's own text, of the first byte fed (a reader that skips the
        part's first bytes says so)."""
        if self._parts and self._parts[-1] == part and self._numbered[-1] == numbered:
            return  # more of the same part
        line = self._newlines + 1
        if self._lines and self._lines[-1] == line and self._columns[-1] == self._column:
            # the previous part gave no bytes
            self._parts[-1], self._numbered[-1], self._starts[-1] = part, numbered, start
            return
        self._lines.append(line)
        self._columns.append(self._column)
        self._parts.append(part)
        self._numbered.append(numbered)
        self._starts.append(start)

    def feed(self, data: bytes) -> None:
        """Bytes of the document, in order."""
        last = data.rfind(b"\n")
        if last < 0:
            self._column += len(data)
            return
        self._newlines += data.count(b"\n")
        self._column = len(data) - last - 1

    def locate(self, line: int, column: int) -> str | None:
        """The part a place in the document lies in, with its line and column in the part's own
        text: "bz2 stream at byte 1234, line 5, column 7"."""
        k = bisect_right(self._lines, line) - 1
        if k < 0:
            return None
        # on the line a part begins on, the place may still belong to the part before
        while k > 0 and self._lines[k] == line and column <= self._columns[k]:
            k -= 1
        if not self._numbered[k]:
            return self._parts[k]
        first_line, first_column = self._starts[k]
        if line == self._lines[k]:  # on the line the part began on
            return f"{self._parts[k]}, line {first_line}, column {column - self._columns[k] + first_column}"
        return f"{self._parts[k]}, line {first_line + line - self._lines[k]}, column {column}"

    def relocate(self, err: InputError, source: str) -> InputError:
        """``err`` (at a line of the document) as an error naming the part of ``source``."""
        if err.line is None or err.column is None:
            return err
        where = self.locate(err.line, err.column)
        if where is None:
            return err
        return InputError(f"{source}: {where}: {err.problem}", line=err.line, column=err.column,
                          problem=err.problem)
