"""Progress reporting for management commands: a bar on a terminal, lines otherwise."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import OutputWrapper


class Progress:
    """Reports ``done / total``: a redrawn bar on a TTY, a line every 10 % otherwise."""

    def __init__(self, stream: Any, label: str, *, tty: bool | None = None) -> None:
        self.stream = stream
        self.label = label
        self.tty = stream.isatty() if tty is None else tty
        self.started = time.monotonic()
        self._last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        total = max(total, 1)
        if self.tty:
            width = 30
            filled = int(width * done / total)
            bar = "#" * filled + "." * (width - filled)
            self._write(f"\r{self.label} [{bar}] {done}/{total}")
            if done >= total:
                self._write("\n")
            self.stream.flush()
            return
        decile = 10 * done // total
        if decile != self._last_decile:
            self._last_decile = decile
            self._write(f"{self.label}: {done}/{total}\n")

    def _write(self, text: str) -> None:
        if isinstance(self.stream, OutputWrapper):
            self.stream.write(text, ending="")  # OutputWrapper would add a newline
        else:
            self.stream.write(text)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started
