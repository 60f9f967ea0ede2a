"""Column layout as Juju's tabular output does it.

Juju writes its tables through ``output.TabWriter`` (juju cmd/output/output.go):
``github.com/juju/ansiterm``'s fork of Go's ``text/tabwriter`` with minwidth 0,
tabwidth 1, padding 2, pad character ``' '`` and no flags, plus per-column right
alignment (``SetColumnAlignRight``) and ANSI escape sequences counted as zero width.

The semantics reproduced here (from the tabwriter algorithm):

* text is split into cells at ``\\t``; a line's last cell (the text after its last tab)
  is not part of any column and is never padded;
* a *column block* is a run of consecutive lines that all have a tab-terminated cell in
  that column; its width is the widest such cell plus 2;
* every tab-terminated cell is padded to its column width, even when it is the last
  one on the line, so lines may end in spaces;
* a line with a single cell (e.g. the empty line between sections) flushes the writer,
  which also forgets the right-aligned columns (ansiterm resets them on flush);
* a right-aligned cell is padded on the left to ``width - 2`` and followed by 2 spaces.

Also here: Juju's colour contexts (juju cmd/output/output.go, juju/ansiterm) and
``naturalsort.Sort`` (juju internal/naturalsort).
"""

from __future__ import annotations

import functools
import re

__all__ = [
    "TabWriter",
    "Wrapper",
    "natural_sorted",
    "sgr",
    "RESET",
    "GOOD",
    "WARNING",
    "ERROR",
    "INFO",
    "BOLD_DEFAULT",
    "GRAY",
    "MAGENTA",
    "BRIGHT_MAGENTA",
    "status_color",
    "visible_width",
]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def sgr(*attrs: int) -> str:
    """An ANSI Select Graphic Rendition sequence (ansiterm sorts the attributes)."""
    return "\x1b[" + ";".join(str(a) for a in sorted(attrs)) + "m"


RESET = sgr(0)
GOOD = sgr(32)  # output.GoodHighlight: green
WARNING = sgr(33)  # output.WarningHighlight: yellow
ERROR = sgr(31)  # output.ErrorHighlight: red
INFO = sgr(36)  # output.InfoHighlight: cyan
BOLD_DEFAULT = sgr(39, 1)  # EmphasisHighlight.DefaultBold
GRAY = sgr(37)  # EmphasisHighlight.Gray
MAGENTA = sgr(35)  # EmphasisHighlight.Magenta
BRIGHT_MAGENTA = sgr(95)  # EmphasisHighlight.BrightMagenta
BRIGHT_RED = sgr(91)  # cmd.WriteError's "ERROR"

_STATUS_COLORS = {
    **dict.fromkeys(
        ("active", "running", "idle", "started", "executing", "attaching", "attached"), GOOD
    ),
    **dict.fromkeys(
        (
            "allocating",
            "lost",
            "maintenance",
            "pending",
            "rebooting",
            "stopped",
            "unknown",
            "detaching",
            "detached",
        ),
        WARNING,
    ),
    **dict.fromkeys(("blocked", "down", "error", "failed", "terminated"), ERROR),
}


def status_color(status: str) -> str | None:
    """``statusColors`` in juju cmd/output/output.go (None: printed without colour)."""
    return _STATUS_COLORS.get(status)


def visible_width(text: str) -> int:
    """Rune count with ANSI escape sequences removed (what the tabwriter measures)."""
    return len(_ANSI.sub("", text))


class TabWriter:
    """Buffers tab-separated text and lays it out in columns on flush."""

    def __init__(self, *, color: bool = False, padding: int = 2) -> None:
        self.color = color
        self.padding = padding
        self._out: list[str] = []
        self._lines: list[list[tuple[str, bool]]] = [[]]
        self._cell = ""
        self._align_right: set[int] = set()

    # ansiterm.Writer ----------------------------------------------------------------
    def colored(self, ctx: str | None, text: str) -> str:
        """``ctx.Fprintf(w, "%v", text)``: SGR, text, reset, when colour is enabled."""
        if ctx is None or not self.color:
            return text
        return f"{ctx}{text}{RESET}"

    def set_column_align_right(self, column: int) -> None:
        self._align_right.add(column)

    def write(self, text: str) -> None:
        for ch in text:
            if ch == "\t":
                self._lines[-1].append((self._cell, True))
                self._cell = ""
            elif ch == "\n":
                line = self._lines[-1]
                line.append((self._cell, False))
                self._cell = ""
                self._lines.append([])
                if len(line) == 1:
                    self.flush()
            else:
                self._cell += ch

    def flush(self) -> None:
        if self._cell:
            self._lines[-1].append((self._cell, False))
            self._cell = ""
        self._format(0, len(self._lines), [])
        self._lines = [[]]
        self._align_right = set()

    def getvalue(self) -> str:
        return "".join(self._out)

    # layout -------------------------------------------------------------------------
    def _write_lines(self, line0: int, line1: int, widths: list[int]) -> None:
        for i in range(line0, line1):
            line = self._lines[i]
            for j, (text, _htab) in enumerate(line):
                w = visible_width(text)
                if not text:
                    if j < len(widths):
                        self._out.append(" " * (widths[j] - w))
                elif j in self._align_right and j < len(widths):
                    self._out.append(" " * (widths[j] - self.padding - w))
                    self._out.append(text)
                    self._out.append(" " * self.padding)
                else:
                    self._out.append(text)
                    if j < len(widths):
                        self._out.append(" " * (widths[j] - w))
            if i + 1 != len(self._lines):
                self._out.append("\n")

    def _format(self, line0: int, line1: int, widths: list[int]) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            line = self._lines[this]
            if column < len(line) - 1:
                self._write_lines(line0, this, widths)
                line0 = this
                width = 0
                while this < line1:
                    line = self._lines[this]
                    if column < len(line) - 1:
                        width = max(width, visible_width(line[column][0]) + self.padding)
                    else:
                        break
                    this += 1
                self._format(line0, this, widths + [width])
                line0 = this
                # the Go loop's post-increment happens after the block end
                this += 1
                continue
            this += 1
        self._write_lines(line0, line1, widths)


class Wrapper:
    """``output.Wrapper``: helpers that write values followed by tabs."""

    def __init__(self, tw: TabWriter) -> None:
        self.tw = tw

    def print(self, *values: object) -> None:
        for v in values:
            self.tw.write(f"{_go_str(v)}\t")

    def print_no_tab(self, *values: object) -> None:
        for v in values:
            self.tw.write(_go_str(v))

    def println(self, *values: object) -> None:
        for i, v in enumerate(values):
            self.tw.write(_go_str(v) + ("\t" if i != len(values) - 1 else ""))
        self.tw.write("\n")

    def print_color(self, ctx: str | None, value: object) -> None:
        if ctx is not None and self.tw.color:
            # ctx.Fprintf(w, "%v\t", value): the reset lands after the tab
            self.tw.write(f"{ctx}{_go_str(value)}\t{RESET}")
        else:
            self.tw.write(f"{_go_str(value)}\t")

    def print_color_no_tab(self, ctx: str | None, value: object) -> None:
        self.tw.write(self.tw.colored(ctx, _go_str(value)))

    def print_headers(self, ctx: str, *values: object) -> None:
        for i, v in enumerate(values):
            text = _go_str(v) + ("\t" if i != len(values) - 1 else "")
            if self.tw.color:
                self.tw.write(f"{ctx}{text}{RESET}")
            else:
                self.tw.write(text)
        self.tw.write("\n")

    def print_status(self, status: str) -> None:
        self.print_color(status_color(status), status)


def _go_str(v: object) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "<nil>"
    return str(v)


def _split_at_number(s: str) -> tuple[str, int, str] | None:
    for i, ch in enumerate(s):
        if ch.isdecimal():
            j = i
            while j < len(s) and s[j].isdecimal():
                j += 1
            return s[:i], int(s[i:j]), s[j:]
    return None


def _natural_less(a: str, b: str) -> bool:
    while True:
        if b == "":
            return False
        if a == "":
            return True
        sa, sb = _split_at_number(a), _split_at_number(b)
        if sa is None or sb is None:
            return a < b
        if sa[0] != sb[0]:
            return sa[0] < sb[0]
        if sa[1] != sb[1]:
            return sa[1] < sb[1]
        a, b = sa[2], sb[2]


def _natural_cmp(a: str, b: str) -> int:
    if _natural_less(a, b):
        return -1
    if _natural_less(b, a):
        return 1
    return 0


def natural_sorted(items: object) -> list[str]:
    """``naturalsort.Sort``: "etcd/2" before "etcd/10"."""
    return sorted((str(x) for x in items), key=functools.cmp_to_key(_natural_cmp))  # type: ignore[attr-defined]
