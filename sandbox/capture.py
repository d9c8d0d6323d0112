"""Bounded capture of untrusted output: keep the head and the tail, count what was dropped.

A sandboxed program may print 100 MB; the host must neither hold it in memory nor hand it to a
model. The head usually shows what went wrong first (a collection error), the tail shows the
summary, so both halves are kept and the middle is replaced by one marker line.
"""

from __future__ import annotations


class BoundedBuffer:
    """Collects bytes up to `limit`: the first half verbatim, then a rolling tail of the last half."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 2)
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    @property
    def truncated(self) -> bool:
        return self.total > self.limit

    def write(self, data: bytes) -> None:
        self.total += len(data)
        head_room = self.limit // 2 - len(self._head)
        if head_room > 0:
            self._head += data[:head_room]
            data = data[head_room:]
        if data:
            self._tail += data
            keep = self.limit - self.limit // 2
            if len(self._tail) > 2 * keep:  # trim rarely, not on every write
                del self._tail[: len(self._tail) - keep]

    def getvalue(self) -> bytes:
        keep = self.limit - self.limit // 2
        tail = bytes(self._tail[-keep:]) if len(self._tail) > keep else bytes(self._tail)
        if not self.truncated:
            return bytes(self._head) + tail
        dropped = self.total - len(self._head) - len(tail)
        marker = f"\n[... {dropped} bytes of output truncated by the sandbox ...]\n".encode()
        return bytes(self._head) + marker + tail

    def text(self) -> str:
        return self.getvalue().decode("utf-8", errors="replace")


def tail_text(text: str, limit: int = 4000) -> str:
    """The last `limit` characters of `text`, starting at a line boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    newline = cut.find("\n")
    return cut[newline + 1 :] if 0 <= newline < 200 else cut
