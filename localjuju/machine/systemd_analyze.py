"""``systemd-analyze`` for a local-model machine: the ``calendar`` verb only.

Output and exit status follow systemd 249's ``src/analyze/analyze.c`` (``test_calendar_one``,
``test_calendar``, ``parsing_hint``): a two-column table, the names right-aligned::

      Original form: daily
    Normalized form: *-*-* 00:00:00
        Next elapse: Sun 2026-12-06 00:00:00 UTC
           From now: 19h left

(``Original form`` only when it differs from the normalized form, ``(in UTC)`` when the local
zone is not UTC, ``Iter. #N`` lines for ``--iterations=N``, a blank line between expressions).
An invalid expression: ``Failed to parse calendar specification 'X': Invalid argument`` on
stderr (plus systemd's hint when it is a valid time span) and exit status 1; the other
expressions are still shown. Other verbs are refused with a message saying so (exit 1).
"""

from __future__ import annotations

import sys
import time

from . import calendar as C
from . import units as U

WIDTH = len("Normalized form:")


def _row(name: str, value: str) -> str:
    return f"{name.rjust(WIDTH)} {value}"


def _in_utc() -> bool:
    return time.localtime().tm_gmtoff == 0 and all(n in ("UTC", "GMT", "") for n in time.tzname)


def calendar_one(expr: str, now_usec: int, iterations: int) -> tuple[list[str], list[str], int]:
    """(stdout lines, stderr lines, 0 or 1) for one expression."""
    try:
        spec = C.parse(expr)
    except C.CalendarError as e:
        err = [f"Failed to parse calendar specification '{expr}': {e.strerror}"]
        try:
            U.parse_timespan(expr)
            if expr.strip() not in ("", "infinity"):
                err.append(
                    "Hint: this expression is a valid timespan. "
                    f"Use 'systemd-analyze timespan \"{expr}\"' instead?"
                )
        except U.UnitError:
            pass
        return [], err, 1
    normalized = C.to_string(spec)
    out = []
    if normalized != expr:
        out.append(_row("Original form:", expr))
    out.append(_row("Normalized form:", normalized))
    n = now_usec
    for i in range(iterations):
        nxt = C.next_elapse(spec, n)
        if nxt is None:
            if i == 0:
                out.append(_row("Next elapse:", "never"))
            break
        label = "Next elapse:" if i == 0 else f"Iter. #{i + 1}:"
        out.append(_row(label, C.format_timestamp_usec(nxt)))
        if not _in_utc():
            utc = time.strftime("%a %Y-%m-%d %H:%M:%S UTC", time.gmtime(nxt // C.USEC_PER_SEC))
            out.append(_row("(in UTC):", utc))
        out.append(_row("From now:", C.format_relative(nxt, now_usec)))
        n = nxt
    return out, [], 0


USAGE = "systemd-analyze [OPTIONS...] COMMAND ..."


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    iterations = 1
    base: int | None = None
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest += args[i + 1 :]
            break
        if a.startswith("--iterations"):
            val = a.partition("=")[2] if "=" in a else (args[i + 1] if i + 1 < len(args) else "")
            i += 0 if "=" in a else 1
            if not val.isdigit():
                print(f"Failed to parse iterations: {val}", file=sys.stderr)
                return 1
            iterations = int(val)
        elif a.startswith("--base-time"):
            val = a.partition("=")[2] if "=" in a else (args[i + 1] if i + 1 < len(args) else "")
            i += 0 if "=" in a else 1
            if not val.startswith("@") or not val[1:].isdigit():
                print(
                    f"Failed to parse --base-time= parameter: {val} (the local model's "
                    "systemd-analyze takes only @EPOCH here)",
                    file=sys.stderr,
                )
                return 1
            base = int(val[1:]) * C.USEC_PER_SEC
        elif a in ("--no-pager", "--system", "-q", "--quiet"):
            pass
        elif a in ("-h", "--help"):
            print(USAGE + "\n\nOnly the 'calendar SPEC...' command is available here.")
            return 0
        elif a == "--version":
            print("systemd 249 (249.11-localjuju)")
            return 0
        elif a.startswith("-"):
            print(f"systemd-analyze: unrecognized option '{a}'", file=sys.stderr)
            return 1
        else:
            rest.append(a)
        i += 1
    if not rest:
        print(
            "systemd-analyze: the local model's systemd-analyze has only the 'calendar' verb",
            file=sys.stderr,
        )
        return 1
    verb, exprs = rest[0], rest[1:]
    if verb != "calendar":
        print(
            f"systemd-analyze: '{verb}' is not available in the local model's machines "
            "(only 'calendar' is)",
            file=sys.stderr,
        )
        return 1
    if not exprs:
        print("Too few arguments.", file=sys.stderr)
        return 1
    now = base if base is not None else time.time_ns() // 1000
    rc = 0
    for k, expr in enumerate(exprs):
        out, err, code = calendar_one(expr, now, iterations)
        for line in err:
            print(line, file=sys.stderr)
        sys.stderr.flush()
        for line in out:
            print(line)
        if k + 1 < len(exprs):
            print()
        sys.stdout.flush()
        rc = rc or code
    return rc


if __name__ == "__main__":
    sys.exit(main())
