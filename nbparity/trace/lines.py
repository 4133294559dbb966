"""A trace's lines, one at a time, from text, bytes or an open binary file: the whole decoded text and a
list of its lines are never held (a traced pixel can print millions of sub-pixel lines).

    source = LineSource(text_bytes_or_binary_file)
    for no, line in source: ...          # 1-based numbers; lines split on '\\n' only, without it
    source.binary, source.n_lines, source.last_cut, source.decode_warning   # known once iterated

last_cut: the final line has no end-of-line (whether that is a cut record is the reader's call).
Undecodable bytes become U+FFFD; decode_warning names the first one's byte offset.
"""

from __future__ import annotations


class LineSource:
    def __init__(self, source):
        self.source = source
        self.binary = False
        self.n_lines = 0
        self.last_cut = False
        self.decode_warning: str | None = None

    def __iter__(self):
        src = self.source
        if isinstance(src, str):
            pieces = _split(src, "\n")
        elif isinstance(src, (bytes, bytearray, memoryview)):
            pieces = _split(bytes(src), b"\n")
        else:
            pieces = _file_pieces(src)
        offset = 0
        for no, (piece, ended) in enumerate(pieces, start=1):
            self.n_lines, self.last_cut = no, not ended
            yield no, self._text(piece, offset)
            offset += len(piece) + 1

    def _text(self, piece, offset: int) -> str:
        if isinstance(piece, str):
            self.binary = self.binary or "\x00" in piece
            return piece
        self.binary = self.binary or b"\x00" in piece
        try:
            return piece.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.decode_warning is None:
                self.decode_warning = (f"invalid UTF-8 (first at byte {offset + exc.start}); undecodable bytes "
                                       "replaced by U+FFFD")
            return piece.decode("utf-8", errors="replace")


def _split(data, newline):
    """(line, ended with newline) for each piece of data.split(newline), lazily."""
    start = 0
    while True:
        end = data.find(newline, start)
        if end < 0:
            yield data[start:], False
            return
        yield data[start:end], True
        start = end + 1


def _file_pieces(stream):
    ended = True
    for raw in stream:
        ended = raw.endswith(b"\n")
        yield (raw[:-1] if ended else raw), ended
    if ended:   # text ending with a newline has an empty last piece, as str.split('\n') gives
        yield b"", False
