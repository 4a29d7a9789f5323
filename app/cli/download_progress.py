"""The progress of a download in the terminal: one bar redrawn in place, or plain lines in a log or a pipe."""

from __future__ import annotations

from typing import Any

BAR_WIDTH = 28
PLAIN_PROGRESS_STEP = 0.1  # without a terminal, a line at every tenth


class ProgressBar:
    """Bytes, speed and time left: redrawn in place on a terminal, a line per tenth otherwise."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self._next_step = 0.0
        self._drawn = False

    def update(self, progress: Any) -> None:
        from app.library.downloads import format_duration
        from engines.inspect import human_size

        fraction = progress.fraction
        filled = int(fraction * BAR_WIDTH)
        speed = f"{human_size(progress.bytes_per_s)}/s" if progress.bytes_per_s else "-"
        left = format_duration(progress.seconds_left) if progress.seconds_left is not None else "--:--"
        amounts = f"{human_size(progress.done_bytes)} of {human_size(progress.total_bytes)}"
        line = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction * 100:5.1f}%  {amounts}  {speed}  {left} left"
        if self.tty:
            self.stream.write("\r" + line.ljust(100)[:100])
            self._drawn = True
        elif fraction >= self._next_step:
            self.stream.write(line + "\n")
            self._next_step = min(1.0, (int(fraction / PLAIN_PROGRESS_STEP) + 1) * PLAIN_PROGRESS_STEP)
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
