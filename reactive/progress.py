"""A minimal progress reporter for long CLI steps (stderr, no dependency)."""

from __future__ import annotations

import sys
import time


class Progress:
    """``Progress("tracking", total)``; call ``update(i)``; ``close()`` ends the line.

    On a terminal it redraws one line; elsewhere (CI, logs) it prints every 25%.
    """

    def __init__(self, label: str, total: int, *, stream=None, enabled: bool = True):
        self.label, self.total = label, max(int(total), 1)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self._last_decile = -1
        self._last_draw = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        frac = min(done / self.total, 1.0)
        now = time.perf_counter()
        if self.tty:
            if now - self._last_draw < 0.1 and done < self.total:
                return
            self._last_draw = now
            bar = "#" * int(frac * 30)
            rate = done / max(now - self.start, 1e-9)
            self.stream.write(f"\r{self.label} [{bar:<30}] {done}/{self.total} ({rate:.0f}/s)")
            self.stream.flush()
        else:
            decile = int(frac * 4)
            if decile > self._last_decile:
                self._last_decile = decile
                self.stream.write(f"{self.label}: {decile * 25}%\n")
                self.stream.flush()

    def close(self) -> float:
        """End the progress line; returns elapsed seconds."""
        elapsed = time.perf_counter() - self.start
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
        return elapsed
