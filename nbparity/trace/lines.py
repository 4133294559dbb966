"""A trace's lines, one block at a time, from text, bytes or an open binary file: the whole decoded text and
a list of all its lines are never held (a traced pixel can print millions of sub-pixel lines).

    source = LineSource(text_bytes_or_binary_file)
    for first_no, lines, data, whole in source.blocks(): ...   # 1-based numbers; lines split on '\\n' only,
                                         # without it; `data` is the block's UTF-8 bytes (None when it did not
                                         # decode cleanly), `whole` False for the final piece after the last
                                         # end-of-line (whether that is a cut record is the reader's call)
    source.binary, source.n_lines, source.decode_warning   # known once iterated

Undecodable bytes become U+FFFD; decode_warning names the first one's byte offset.
"""

from __future__ import annotations

_BLOCK = 1 << 18


class LineSource:
    def __init__(self, source):
        self.source = source
        self.binary = False
        self.n_lines = 0
        self.decode_warning: str | None = None

    def blocks(self):
        no = 0
        for (lines, data), ends_with_newline in self._blocks():
            self.n_lines = no + len(lines)
            if ends_with_newline:
                yield no + 1, lines, data, True
            else:   # the final piece (after the last end-of-line): one line, maybe empty
                yield self.n_lines, lines[-1:], None, False
            no = self.n_lines

    def _blocks(self):
        """(lines of a block of whole lines, whether the input continues after it): str.split('\\n')
        of the whole input, a block at a time; the last block's final piece may be cut or empty."""
        src = self.source
        if isinstance(src, (bytearray, memoryview)):
            src = bytes(src)   # once (a copy per piece made splitting quadratic)
        if isinstance(src, (str, bytes)):
            self.binary = isinstance(src, str) and "\x00" in src
            pieces = (src[k:k + _BLOCK] for k in range(0, max(len(src), 1), _BLOCK))   # one piece at a time
        else:
            pieces = iter(lambda: src.read(_BLOCK), b"")
        empty = "" if isinstance(src, str) else b""
        newline, parts, offset = ("\n" if isinstance(src, str) else b"\n"), [], 0
        for piece in pieces:
            nl = piece.rfind(newline)
            if nl < 0:   # a line longer than a block: joined once its end comes
                parts.append(piece)
                continue
            data = empty.join([*parts, piece[:nl]])
            yield self._lines(data, offset), True
            offset += len(data) + 1
            parts = [piece[nl + 1:]]
        yield self._lines(empty.join(parts), offset), False

    def _lines(self, data, offset: int) -> tuple:
        """(the lines, the bytes they decode from when that is clean UTF-8)."""
        if isinstance(data, str):
            try:
                return Lines(data), data.encode("utf-8")
            except UnicodeEncodeError:   # a lone surrogate: no bytes for the block reader
                return Lines(data), None
        self.binary = self.binary or b"\x00" in data
        try:
            return Lines(data.decode("utf-8")), data
        except UnicodeDecodeError:
            return [self._line(raw, at) for raw, at in _with_offsets(data.split(b"\n"), offset)], None

    def _line(self, raw: bytes, offset: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.decode_warning is None:
                self.decode_warning = (f"invalid UTF-8 (first at byte {offset + exc.start}); undecodable bytes "
                                       "replaced by U+FFFD")
            return raw.decode("utf-8", errors="replace")


class Lines:
    """The lines of a block's text, split only when one is asked for (the block reader reads the text)."""

    def __init__(self, text: str):
        self.text, self.n, self._lines = text, text.count("\n") + 1, None

    def __len__(self) -> int:
        return self.n

    def _split(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines

    def __getitem__(self, k):
        return self._split()[k]

    def __iter__(self):
        return iter(self._split())


def _with_offsets(lines: list, offset: int):
    for raw in lines:
        yield raw, offset
        offset += len(raw) + 1


def decode(text, warnings: list[str]) -> tuple[str, bool]:
    """bytes/str -> (text, has NUL bytes); undecodable bytes become U+FFFD with a warning."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
        binary = b"\x00" in data
        try:
            decoded = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            decoded = data.decode("utf-8", errors="replace")
            warnings.append(f"invalid UTF-8 (first at byte {exc.start}); undecodable bytes replaced by U+FFFD")
        return decoded, binary
    return str(text), "\x00" in text
