"""``journalctl`` for a local-model machine: reads the logs the supervisor writes.

Supported: ``-u/--unit UNIT`` (repeatable), ``-n/--lines N|all``, ``-f/--follow``, ``-e``,
``--no-pager``, ``-q/--quiet``, ``-o/--output short|short-iso|short-precise|cat|json``,
``-t/--identifier ID``, ``--since/--until`` (``YYYY-MM-DD[ HH:MM[:SS]]``, ``today``, ``-5min``),
and ignores ``-x``, ``-b``, ``-a``, ``--system``. Records come from
``/var/log/localjuju/<unit>.log`` (see :mod:`localjuju.machine.units`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import socket
import sys
import time

from . import units as U


def format_short(rec: U.Record, hostname: str, mode: str = "short") -> str:
    if mode == "cat":
        return rec.message
    if mode == "json":
        return json.dumps(
            {
                "__REALTIME_TIMESTAMP": str(int(rec.ts * 1e6)),
                "_HOSTNAME": hostname,
                "SYSLOG_IDENTIFIER": rec.ident,
                "_PID": str(rec.pid),
                "_SYSTEMD_UNIT": rec.unit,
                "MESSAGE": rec.message,
            }
        )
    lt = time.localtime(rec.ts)
    if mode == "short-iso":
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z", lt)
    elif mode == "short-precise":
        stamp = time.strftime("%b %d %H:%M:%S", lt) + f".{int(rec.ts * 1e6) % 1000000:06d}"
    else:
        stamp = time.strftime("%b %d %H:%M:%S", lt)
    return f"{stamp} {hostname} {rec.ident}[{rec.pid}]: {rec.message}"


def parse_time(text: str, now: float | None = None) -> float:
    now = time.time() if now is None else now
    t = text.strip()
    if t == "now":
        return now
    if t in ("today", "yesterday", "tomorrow"):
        d = _dt.date.today() + _dt.timedelta(days={"today": 0, "yesterday": -1, "tomorrow": 1}[t])
        return time.mktime(d.timetuple())
    m = re.fullmatch(r"([+-])\s*(.+?)(?:\s+ago)?", t) or re.fullmatch(r"()(.+?)\s+ago", t)
    if m:
        span = U.parse_timespan(m.group(2))
        return now + span if m.group(1) == "+" else now - span
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%H:%M:%S", "%H:%M"):
        try:
            parsed = _dt.datetime.strptime(t, fmt)
        except ValueError:
            continue
        if fmt.startswith("%H"):
            today = _dt.date.today()
            parsed = parsed.replace(year=today.year, month=today.month, day=today.day)
        return time.mktime(parsed.timetuple())
    raise ValueError(f"Failed to parse timestamp: {text}")


def collect(units: list[str], identifiers: list[str]) -> list[U.Record]:
    names = [U.unit_name(u) for u in units] if units else U.journal_units()
    recs: list[U.Record] = []
    for name in names:
        recs.extend(U.read_journal(name))
    if identifiers:
        recs = [r for r in recs if r.ident in identifiers]
    recs.sort(key=lambda r: r.ts)
    return recs


def _usage_error(msg: str) -> int:
    print(f"journalctl: {msg}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    units: list[str] = []
    identifiers: list[str] = []
    lines: int | None = None
    follow = quiet = False
    mode = "short"
    since = until = None
    i = 0

    def value(opt: str) -> str:
        nonlocal i
        a = args[i]
        if "=" in a and a.startswith("--"):
            return a.split("=", 1)[1]
        if a.startswith("-") and not a.startswith("--") and len(a) > 2:
            return a[2:]
        i += 1
        if i >= len(args):
            raise ValueError(f"option requires an argument -- '{opt}'")
        return args[i]

    try:
        while i < len(args):
            a = args[i]
            if a in ("-u", "--unit") or a.startswith(("--unit=", "-u")) and a != "-u":
                units.append(value("u"))
            elif a in ("-n", "--lines") or a.startswith(("--lines=", "-n")):
                v = value("n")
                lines = None if v == "all" else int(v)
            elif a in ("-t", "--identifier") or a.startswith("--identifier="):
                identifiers.append(value("t"))
            elif a in ("-o", "--output") or a.startswith(("--output=", "-o")):
                mode = value("o")
                if mode not in ("short", "short-iso", "short-precise", "cat", "json"):
                    return _usage_error(f"Unknown output format '{mode}'.")
            elif a == "--since" or a.startswith("--since=") or a == "-S":
                since = parse_time(value("S"))
            elif a == "--until" or a.startswith("--until=") or a == "-U":
                until = parse_time(value("U"))
            elif a in ("-f", "--follow"):
                follow = True
            elif a in ("-e", "--pager-end"):
                lines = 1000 if lines is None else lines
            elif a in ("-q", "--quiet"):
                quiet = True
            elif a in ("--no-pager", "-x", "--catalog", "-b", "--boot", "--system", "-a", "--all"):
                pass
            elif a.startswith("-"):
                return _usage_error(f"unrecognized option '{a}'")
            else:
                return _usage_error(f"Unsupported match '{a}' (use -u UNIT)")
            i += 1
    except ValueError as e:
        return _usage_error(str(e))

    hostname = socket.gethostname()
    recs = collect(units, identifiers)
    if since is not None:
        recs = [r for r in recs if r.ts >= since]
    if until is not None:
        recs = [r for r in recs if r.ts <= until]
    if follow and lines is None:
        lines = 10
    if lines is not None:
        recs = recs[-lines:] if lines > 0 else []
    out = sys.stdout
    if not recs and not follow:
        if not quiet:
            print("-- No entries --")
        return 0
    try:
        for r in recs:
            out.write(format_short(r, hostname, mode) + "\n")
        out.flush()
        if follow:
            _follow(units, identifiers, hostname, mode, recs[-1].ts if recs else time.time())
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
    except KeyboardInterrupt:
        pass
    return 0


def _follow(units: list[str], idents: list[str], hostname: str, mode: str, last: float) -> None:
    """Print new records as they are written, until interrupted."""
    seen = {(r.ts, r.pid, r.message) for r in collect(units, idents) if r.ts >= last}
    while True:
        time.sleep(0.2)
        fresh = [r for r in collect(units, idents) if r.ts >= last]
        for r in fresh:
            key = (r.ts, r.pid, r.message)
            if key in seen:
                continue
            seen.add(key)
            sys.stdout.write(format_short(r, hostname, mode) + "\n")
            last = max(last, r.ts)
        sys.stdout.flush()
        seen = {k for k in seen if k[0] >= last}


if __name__ == "__main__":
    sys.exit(main())
