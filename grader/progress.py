"""Progress of a long run: a bar on a terminal, one plain line per item otherwise (a log file gets no
carriage-return updates)."""

from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    """``update(text)`` after each item; ``close()`` at the end (or use it as a context manager)."""

    def __init__(self, total: int, desc: str, *, quiet: bool = False, stream=None):
        self.stream = stream or sys.stderr
        self.total, self.desc, self.done = total, desc, 0
        self.quiet = quiet or not total
        tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.bar = tqdm(total=total, unit="nb", desc=desc, file=self.stream) if tty and not self.quiet else None

    def update(self, text: str = "") -> None:
        self.done += 1
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(text)
            self.bar.update()
        else:
            print(f"{self.desc} {self.done}/{self.total}" + (f": {text}" if text else ""), file=self.stream,
                  flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
