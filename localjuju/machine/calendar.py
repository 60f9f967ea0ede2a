"""systemd calendar events (``OnCalendar=``, ``systemd-analyze calendar``): parse, normalize,
format and compute the next elapse, as systemd does.

A port of the pure parts of systemd's ``src/shared/calendarspec.c`` (the grammar read at
systemd/systemd commit 018333725f9d8565a47abc54b7a6e301e8492f39; the search, find_next() and
tm_within_bounds(), as in later versions (255, noble): it does not go backwards at a DST change
and does not skip the first day of a month after a normalization (3-33 is 4-1), a fix that
jammy's 249 may lack; checked against the rows of systemd's src/test/test-calendarspec.c): weekdays (``Mon``, ``Mon..Fri``, ``Sat,Sun``), ``YYYY-MM-DD`` (or ``MM-DD``) with
``*``, lists ``a,b``, ranges ``a..b``, repetitions ``a/n`` and ``a..b/n``, ``~`` (days from the
end of the month), ``HH:MM[:SS[.ffffff]]``, ``@EPOCH``, the shorthands ``minutely``,
``hourly``, ``daily``, ``weekly``, ``monthly``, ``yearly``/``annually``, ``quarterly``,
``semiannually``; a trailing `` UTC``, the local zone's name, or a time zone of
``/usr/share/zoneinfo`` (computed with ``$TZ`` set, as systemd's forked helper does).

Pure: no I/O but the C library's time zone conversion. Times are microseconds since the epoch.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

USEC_PER_SEC = 1_000_000
MIN_YEAR = 1970
MAX_YEAR = 2199
BITS_WEEKDAYS = 127
COMPONENTS_MAX = 240
MAX_CALENDAR_ITERATIONS = 1000
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_NAMES = (
    ("Monday", 0),
    ("Mon", 0),
    ("Tuesday", 1),
    ("Tue", 1),
    ("Wednesday", 2),
    ("Wed", 2),
    ("Thursday", 3),
    ("Thu", 3),
    ("Friday", 4),
    ("Fri", 4),
    ("Saturday", 5),
    ("Sat", 5),
    ("Sunday", 6),
    ("Sun", 6),
)


class CalendarError(Exception):
    """An expression systemd refuses; ``errno`` is the error systemd returns (``%m``)."""

    def __init__(self, err: int, detail: str = "") -> None:
        super().__init__(detail or os.strerror(err))
        self.errno = err

    @property
    def strerror(self) -> str:
        return os.strerror(self.errno)


@dataclass
class Component:
    start: int
    stop: int = -1
    repeat: int = 0


Chain = list[Component] | None  # None is '*'


@dataclass
class CalendarSpec:
    weekdays_bits: int = 0
    end_of_month: bool = False
    utc: bool = False
    dst: int = -1
    timezone: str | None = None
    year: Chain = None
    month: Chain = None
    day: Chain = None
    hour: Chain = None
    minute: Chain = None
    microsecond: Chain = None
    extra: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Parsing


class _Cursor:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def rest(self) -> str:
        return self.s[self.i :]

    def skip_spaces(self) -> None:
        while self.peek() == " ":
            self.i += 1


def _einval() -> CalendarError:
    return CalendarError(errno.EINVAL)


def _number(cur: _Cursor) -> int:
    j = cur.i
    while cur.peek().isdigit() and cur.peek().isascii():
        cur.i += 1
    if cur.i == j:
        raise _einval()
    return int(cur.s[j : cur.i])


def _fraction(cur: _Cursor, digits: int = 6) -> int:
    """systemd's parse_fractional_part_u(): ``digits`` digits, padded, rounded on the next."""
    val = 0
    for i in range(digits):
        c = cur.peek()
        if not (c.isdigit() and c.isascii()):
            if i == 0:
                raise _einval()
            val *= 10 ** (digits - i)
            break
        val = val * 10 + int(c)
        cur.i += 1
    c = cur.peek()
    if c and c in "56789":
        val += 1
    while cur.peek().isdigit() and cur.peek().isascii():
        cur.i += 1
    return val


def _decimal(cur: _Cursor, usec: bool) -> int:
    if not (cur.peek().isdigit() and cur.peek().isascii()):
        raise _einval()
    value = _number(cur)
    if usec:
        value *= USEC_PER_SEC
        if cur.peek() == "." and cur.peek(1) != ".":
            cur.i += 1
            value += _fraction(cur)
    if value > 2**31 - 1:
        raise CalendarError(errno.ERANGE)
    return value


def _components(cur: _Cursor, usec: bool) -> list[Component]:
    out: list[Component] = []
    while True:
        if len(out) > COMPONENTS_MAX:
            raise CalendarError(errno.ENOBUFS)
        start = _decimal(cur, usec)
        stop, repeat = -1, 0
        if cur.peek() == "." and cur.peek(1) == ".":
            cur.i += 2
            stop = _decimal(cur, usec)
            repeat = USEC_PER_SEC if usec else 1
        if cur.peek() == "/":
            cur.i += 1
            repeat = _decimal(cur, usec)
            if repeat == 0:
                raise CalendarError(errno.ERANGE)
        if cur.peek() not in ("", " ", ",", "-", "~", ":"):
            raise _einval()
        out.append(Component(start, stop, repeat))
        if cur.peek() == ",":
            cur.i += 1
            continue
        return out


def _chain(cur: _Cursor, usec: bool) -> Chain:
    if cur.peek() == "*":
        cur.i += 1
        return [Component(0, -1, USEC_PER_SEC)] if usec else None
    return _components(cur, usec)


def _parse_weekdays(cur: _Cursor, spec: CalendarSpec) -> None:
    last = -1
    first = True
    while True:
        for name, nr in _DAY_NAMES:
            if cur.rest()[: len(name)].lower() != name.lower():
                continue
            after = cur.peek(len(name))
            if after not in ("", "-", ".", ",", " "):
                raise _einval()
            spec.weekdays_bits |= 1 << nr
            if last >= 0:
                if last > nr:
                    raise _einval()
                for j in range(last + 1, nr):
                    spec.weekdays_bits |= 1 << j
            cur.i += len(name)
            break
        else:
            if first:
                return
            raise _einval()
        if cur.peek() == "":
            return
        if cur.peek() == " ":
            cur.skip_spaces()
            return
        if cur.peek() == ".":
            if last >= 0 or cur.peek(1) != ".":
                raise _einval()
            last = nr
            cur.i += 2
        elif cur.peek() == "-":
            if last >= 0:
                raise _einval()
            last = nr
            cur.i += 1
        elif cur.peek() == ",":
            last = -1
            cur.i += 1
        if cur.peek() in ("", " "):
            cur.skip_spaces()
            if last >= 0:
                raise _einval()
            return
        first = False


def _from_epoch(spec: CalendarSpec, seconds: int) -> None:
    try:
        tm = time.gmtime(seconds)
    except (OverflowError, OSError, ValueError):
        raise CalendarError(errno.ERANGE) from None
    spec.utc = True
    spec.year = [Component(tm.tm_year)]
    spec.month = [Component(tm.tm_mon)]
    spec.day = [Component(tm.tm_mday)]
    spec.hour = [Component(tm.tm_hour)]
    spec.minute = [Component(tm.tm_min)]
    spec.microsecond = [Component(tm.tm_sec * USEC_PER_SEC)]


def _parse_date(cur: _Cursor, spec: CalendarSpec) -> bool:
    """True when the expression was ``@EPOCH`` (nothing follows)."""
    if cur.peek() == "":
        return False
    if cur.peek() == "@":
        cur.i += 1
        _from_epoch(spec, _number(cur))
        return True
    mark = cur.i
    first = _chain(cur, False)
    if cur.peek() in ("", ":"):
        cur.i = mark  # a time, not a date
        return False
    if cur.peek() == "~":
        spec.end_of_month = True
    elif cur.peek() != "-":
        raise _einval()
    cur.i += 1
    second = _chain(cur, False)
    if cur.peek() in ("", " "):
        cur.skip_spaces()
        spec.month, spec.day = first, second
        return False
    if spec.end_of_month:
        raise _einval()
    if cur.peek() == "~":
        spec.end_of_month = True
    elif cur.peek() != "-":
        raise _einval()
    cur.i += 1
    third = _chain(cur, False)
    if cur.peek() not in ("", " "):
        raise _einval()
    cur.skip_spaces()
    spec.year, spec.month, spec.day = first, second, third
    return False


def _parse_time(cur: _Cursor, spec: CalendarSpec) -> None:
    if cur.peek() == "":
        spec.hour, spec.minute, spec.microsecond = [Component(0)], [Component(0)], [Component(0)]
        return
    h = _chain(cur, False)
    if cur.peek() != ":":
        raise _einval()
    cur.i += 1
    m = _chain(cur, False)
    if cur.peek() == "":
        spec.hour, spec.minute, spec.microsecond = h, m, [Component(0)]
        return
    if cur.peek() != ":":
        raise _einval()
    cur.i += 1
    s = _chain(cur, True)
    if cur.peek() != "":
        raise _einval()
    spec.hour, spec.minute, spec.microsecond = h, m, s


def _normalize_chain(chain: Chain) -> Chain:
    if chain is None:
        return None
    for c in chain:
        if c.stop > c.start and c.repeat > 0:
            c.stop -= (c.stop - c.start) % c.repeat
    out: list[Component] = []
    for c in sorted(chain, key=lambda c: (c.start, c.stop, c.repeat)):
        if out and (out[-1].start, out[-1].stop, out[-1].repeat) == (c.start, c.stop, c.repeat):
            continue
        out.append(c)
    return out


def _fix_year(chain: Chain) -> None:
    for c in chain or []:
        for attr in ("start", "stop"):
            v = getattr(c, attr)
            if 0 <= v < 70:
                setattr(c, attr, v + 2000)
            elif 70 <= v < 100:
                setattr(c, attr, v + 1900)


def _chain_valid(chain: Chain, lo: int, hi: int, end_of_month: bool) -> bool:
    if chain is None:
        return True
    if end_of_month:
        hi -= 3
    for c in chain:
        if c.start < lo or c.start > hi or c.repeat > hi - lo:
            return False
        if c.stop >= 0:
            if c.stop < lo or c.stop > hi or c.start + c.repeat > c.stop:
                return False
        elif end_of_month and c.start - c.repeat < lo:
            return False
        elif not end_of_month and c.start + c.repeat > hi:
            return False
    return True


def _zone_exists(name: str) -> bool:
    if not name or name.startswith("/") or ".." in name.split("/"):
        return False
    path = os.path.join("/usr/share/zoneinfo", name)
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"TZif"
    except OSError:
        return False


SHORTHANDS: dict[str, str] = {
    "minutely": "*-*-* *:*:00",
    "hourly": "*-*-* *:00:00",
    "daily": "*-*-* 00:00:00",
    "monthly": "*-*-01 00:00:00",
    "weekly": "Mon *-*-* 00:00:00",
    "yearly": "*-01-01 00:00:00",
    "annually": "*-01-01 00:00:00",
    "anually": "*-01-01 00:00:00",
    "quarterly": "*-01,04,07,10-01 00:00:00",
    "semiannually": "*-01,07-01 00:00:00",
    "semi-annually": "*-01,07-01 00:00:00",
    "biannually": "*-01,07-01 00:00:00",
    "bi-annually": "*-01,07-01 00:00:00",
}


def parse(text: str) -> CalendarSpec:
    """``calendar_spec_from_string()``: the normalized spec, or :class:`CalendarError`."""
    spec = CalendarSpec()
    p = text
    if p.lower().endswith(" utc"):
        spec.utc = True
        p = p[: -len(" UTC")]
    else:
        names = [n for n in time.tzname if n]
        for j, name in enumerate(time.tzname):
            if name and p.lower().endswith(name.lower()) and len(p) > len(name):
                if p[-len(name) - 1] == " ":
                    spec.dst = j
                    p = p[: -len(name) - 1]
                    break
        else:
            last = p.rfind(" ")
            if last >= 0 and _zone_exists(p[last + 1 :]):
                spec.timezone = p[last + 1 :]
                p = p[:last]
        del names
    if not p:
        raise _einval()
    short = SHORTHANDS.get(p.lower())
    cur = _Cursor(short if short is not None else p)
    _parse_weekdays(cur, spec)
    if not _parse_date(cur, spec):
        _parse_time(cur, spec)
    if cur.peek() != "":
        raise _einval()
    if spec.timezone == "UTC":
        spec.utc, spec.timezone = True, None
    if spec.weekdays_bits <= 0 or spec.weekdays_bits >= BITS_WEEKDAYS:
        spec.weekdays_bits = -1
    if spec.end_of_month and not spec.day:
        spec.end_of_month = False
    _fix_year(spec.year)
    for name in ("year", "month", "day", "hour", "minute", "microsecond"):
        setattr(spec, name, _normalize_chain(getattr(spec, name)))
    ok = (
        spec.weekdays_bits <= BITS_WEEKDAYS
        and _chain_valid(spec.year, MIN_YEAR, MAX_YEAR, False)
        and _chain_valid(spec.month, 1, 12, False)
        and _chain_valid(spec.day, 1, 31, spec.end_of_month)
        and _chain_valid(spec.hour, 0, 23, False)
        and _chain_valid(spec.minute, 0, 59, False)
        and _chain_valid(spec.microsecond, 0, 60 * USEC_PER_SEC - 1, False)
    )
    if not ok:
        raise _einval()
    return spec


# ---------------------------------------------------------------------------------------------
# Formatting


def _format_weekdays(bits: int) -> str:
    out = ""
    need_comma = False
    last = -1
    x = 0
    for x in range(7):
        if bits & (1 << x):
            if last < 0:
                if need_comma:
                    out += ","
                need_comma = True
                out += WEEKDAYS[x]
                last = x
        elif last >= 0:
            if x > last + 1:
                out += (".." if x > last + 2 else ",") + WEEKDAYS[x - 1]
            last = -1
    x = 7
    if last >= 0 and x > last + 1:
        out += (".." if x > last + 2 else ",") + WEEKDAYS[x - 1]
    return out


def _format_chain(chain: Chain, space: int, usec: bool) -> str:
    d = USEC_PER_SEC if usec else 1
    if chain is None:
        return "*"
    if usec and len(chain) == 1 and chain[0].start == 0 and chain[0].repeat == USEC_PER_SEC:
        return "*"
    parts = []
    for c in chain:
        s = f"{c.start // d:0{space}d}"
        if c.start % d > 0:
            s += f".{c.start % d:06d}"
        if c.stop > 0:
            s += f"..{c.stop // d:0{space}d}"
        if c.stop > 0 and c.stop % d > 0:  # C's % of -1 is -1, never > 0
            s += f".{c.stop % d:06d}"
        if c.repeat > 0 and not (c.stop > 0 and c.repeat == d):
            s += f"/{c.repeat // d}"
        if c.repeat % d > 0:
            s += f".{c.repeat % d:06d}"
        parts.append(s)
    return ",".join(parts)


def to_string(spec: CalendarSpec) -> str:
    """``calendar_spec_to_string()``: the normalized form (``*-*-* 00:00:00``)."""
    out = ""
    if 0 < spec.weekdays_bits <= BITS_WEEKDAYS:
        out = _format_weekdays(spec.weekdays_bits) + " "
    out += _format_chain(spec.year, 4, False) + "-" + _format_chain(spec.month, 2, False)
    out += ("~" if spec.end_of_month else "-") + _format_chain(spec.day, 2, False) + " "
    out += _format_chain(spec.hour, 2, False) + ":" + _format_chain(spec.minute, 2, False)
    out += ":" + _format_chain(spec.microsecond, 2, True)
    if spec.utc:
        out += " UTC"
    elif spec.timezone is not None:
        out += " " + spec.timezone
    elif spec.dst in (0, 1) and time.tzname[spec.dst]:
        out += " " + time.tzname[spec.dst]
    return out


def normalize(text: str) -> str:
    return to_string(parse(text))


# ---------------------------------------------------------------------------------------------
# The next elapse (calendarspec.c find_next())

_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()


def _timegm(tm: list[int]) -> int:
    """An out-of-range broken-down UTC time [Y, M(1-12), D, h, m, s] to epoch seconds."""
    y, mon = tm[0] + (tm[1] - 1) // 12, (tm[1] - 1) % 12 + 1
    if not 1 <= y <= 9999:
        raise OverflowError(y)
    days = _dt.date(y, mon, 1).toordinal() - _EPOCH_ORDINAL + tm[2] - 1
    return days * 86400 + tm[3] * 3600 + tm[4] * 60 + tm[5]


def _to_epoch(tm: list[int], utc: bool, dst: int) -> int:
    if utc:
        return _timegm(tm)
    return int(time.mktime((tm[0], tm[1], tm[2], tm[3], tm[4], tm[5], 0, 0, dst)))


def _broken(t: int, utc: bool) -> list[int]:
    s = time.gmtime(t) if utc else time.localtime(t)
    return [s.tm_year, s.tm_mon, s.tm_mday, s.tm_hour, s.tm_min, s.tm_sec]


def _normalized(tm: list[int], utc: bool, dst: int = -1) -> list[int]:
    return _broken(_to_epoch(tm, utc, dst), utc)


def _within_bounds(c: list[int], utc: bool) -> int:
    """tm_within_bounds(): 1 in bounds; 0 out of bounds, and ``c`` is now the normalized time
    with the unit below the first changed one reset (3-33 is 4-1, not 4-2, so that 4-1 is not
    skipped); -1 beyond MAX_YEAR, or when normalizing would go backwards (a DST change)."""
    if c[0] > MAX_YEAR:
        return -1
    try:
        t = _normalized(c, utc)
    except (OverflowError, OSError, ValueError):
        return -1
    cmp = 0
    for i, reset in ((0, (1, 1)), (1, (2, 1)), (2, (3, 0)), (3, (4, 0)), (4, (5, 0))):
        if t[i] != c[i]:
            cmp = 1 if t[i] > c[i] else -1
            t[reset[0]] = reset[1]
            break
    else:
        cmp = (t[5] > c[5]) - (t[5] < c[5])
    if cmp < 0:
        return -1  # -EDEADLK: refuse to go backward
    if cmp > 0:
        c[:] = t
    return 1 if cmp == 0 else 0


def _end_of_month(tm: list[int], utc: bool, day: int) -> int:
    t = [tm[0], tm[1] + 1, 1 - day, tm[3], tm[4], tm[5]]
    t = _normalized(t, utc)
    if t[1] != tm[1]:
        return -1
    return t[2]


def _match(spec: CalendarSpec, chain: Chain, is_day: bool, tm: list[int], val: int) -> int | None:
    """(systemd's find_matching_component) The next value >= ``val``; None when none."""
    if chain is None:
        return val
    best: int | None = None
    for c in chain:
        start, stop = c.start, c.stop
        if spec.end_of_month and is_day:
            start = _end_of_month(tm, spec.utc, start)
            stop = _end_of_month(tm, spec.utc, stop)
            if stop > 0:
                start, stop = stop, start
        if start >= val:
            if best is None or start < best:
                best = start
        elif c.repeat > 0:
            k = start + c.repeat * -(-(val - start) // c.repeat)
            if (best is None or k < best) and (stop < 0 or k <= stop):
                best = k
    return best


def _weekday_ok(bits: int, tm: list[int], utc: bool) -> bool:
    if bits < 0 or bits >= BITS_WEEKDAYS:
        return True
    t = _to_epoch(tm, utc, -1)
    wday = (time.gmtime(t) if utc else time.localtime(t)).tm_wday  # Monday is 0
    return bool(bits & (1 << wday))


def _find_next(spec: CalendarSpec, tm: list[int], usec: int) -> tuple[list[int], int] | None:
    c = list(tm)
    u = usec
    utc = spec.utc
    for _ in range(MAX_CALENDAR_ITERATIONS):  # systemd's safety valve
        c = _normalized(c, utc, spec.dst)
        v = _match(spec, spec.year, False, c, c[0])
        if v is None:
            return None
        if v != c[0]:
            c = [v, 1, 1, 0, 0, 0]
            u = 0
        if _within_bounds(c, utc) <= 0:
            return None

        v = _match(spec, spec.month, False, c, c[1])
        r = 0
        if v is not None:
            if v != c[1]:
                c[1:] = [v, 1, 0, 0, 0]
                u = 0
            else:
                c[1] = v
            r = _within_bounds(c, utc)
        if v is None or r < 0:
            c = [c[0] + 1, 1, 1, 0, 0, 0]
            u = 0
            continue
        if r == 0:
            continue

        v = _match(spec, spec.day, True, c, c[2])
        if v is not None:
            if v != c[2]:
                c[2:] = [v, 0, 0, 0]
                u = 0
            r = _within_bounds(c, utc)
        if v is None or r < 0:
            c = [c[0], c[1] + 1, 1, 0, 0, 0]
            u = 0
            continue
        if r == 0:
            continue

        if not _weekday_ok(spec.weekdays_bits, c, utc):
            c = [c[0], c[1], c[2] + 1, 0, 0, 0]
            u = 0
            continue

        v = _match(spec, spec.hour, False, c, c[3])
        if v is not None:
            if v != c[3]:
                c[3:] = [v, 0, 0]
                u = 0
            r = _within_bounds(c, utc)
        if v is None or r < 0:
            c = [c[0], c[1], c[2] + 1, 0, 0, 0]
            u = 0
            continue
        if r == 0:
            continue

        v = _match(spec, spec.minute, False, c, c[4])
        if v is not None:
            if v != c[4]:
                c[4:] = [v, 0]
                u = 0
            r = _within_bounds(c, utc)
        if v is None or r < 0:
            c = [c[0], c[1], c[2], c[3] + 1, 0, 0]
            u = 0
            continue
        if r == 0:
            continue

        total = c[5] * USEC_PER_SEC + u
        v = _match(spec, spec.microsecond, False, c, total)
        if v is not None:
            u = v % USEC_PER_SEC
            c[5] = v // USEC_PER_SEC
            r = _within_bounds(c, utc)
        if v is None or r < 0:
            c = [c[0], c[1], c[2], c[3], c[4] + 1, 0]
            u = 0
            continue
        if r == 0:
            continue
        return c, u
    return None


@contextlib.contextmanager
def _zone(name: str | None) -> Iterator[None]:
    if not name:
        yield
        return
    old = os.environ.get("TZ")
    os.environ["TZ"] = ":" + name
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


def next_elapse(spec: CalendarSpec, after_usec: int) -> int | None:
    """``calendar_spec_next_usec()``: the first time strictly after ``after_usec`` (µs since
    the epoch) that matches, or None when the expression never elapses again."""
    with _zone(spec.timezone):
        usec = after_usec + 1
        t = usec // USEC_PER_SEC
        tm = _broken(t, spec.utc)
        try:
            found = _find_next(spec, tm, usec % USEC_PER_SEC)
        except OverflowError:
            return None
        if found is None:
            return None
        c, u = found
        return _to_epoch(c, spec.utc, spec.dst) * USEC_PER_SEC + u


# ---------------------------------------------------------------------------------------------
# Relative times (time-util.c format_timestamp_relative(), systemd 249)

USEC_PER_MINUTE = 60 * USEC_PER_SEC
USEC_PER_HOUR = 60 * USEC_PER_MINUTE
USEC_PER_DAY = 24 * USEC_PER_HOUR
USEC_PER_WEEK = 7 * USEC_PER_DAY
USEC_PER_MONTH = 2629800 * USEC_PER_SEC
USEC_PER_YEAR = 31557600 * USEC_PER_SEC


def format_relative(t_usec: int, now_usec: int) -> str:
    """``2h 5min left``, ``4min 37s ago``, ``now``."""
    if now_usec > t_usec:
        d, s = now_usec - t_usec, "ago"
    else:
        d, s = t_usec - now_usec, "left"
    if d >= USEC_PER_YEAR:
        return f"{d // USEC_PER_YEAR} years {(d % USEC_PER_YEAR) // USEC_PER_MONTH} months {s}"
    if d >= USEC_PER_MONTH:
        return f"{d // USEC_PER_MONTH} months {(d % USEC_PER_MONTH) // USEC_PER_DAY} days {s}"
    if d >= USEC_PER_WEEK:
        return f"{d // USEC_PER_WEEK} weeks {(d % USEC_PER_WEEK) // USEC_PER_DAY} days {s}"
    if d >= 2 * USEC_PER_DAY:
        return f"{d // USEC_PER_DAY} days {s}"
    if d >= 25 * USEC_PER_HOUR:
        return f"1 day {(d - USEC_PER_DAY) // USEC_PER_HOUR}h {s}"
    if d >= 6 * USEC_PER_HOUR:
        return f"{d // USEC_PER_HOUR}h {s}"
    if d >= USEC_PER_HOUR:
        return f"{d // USEC_PER_HOUR}h {(d % USEC_PER_HOUR) // USEC_PER_MINUTE}min {s}"
    if d >= 5 * USEC_PER_MINUTE:
        return f"{d // USEC_PER_MINUTE}min {s}"
    if d >= USEC_PER_MINUTE:
        return f"{d // USEC_PER_MINUTE}min {(d % USEC_PER_MINUTE) // USEC_PER_SEC}s {s}"
    if d >= USEC_PER_SEC:
        return f"{d // USEC_PER_SEC}s {s}"
    if d >= 1000:
        return f"{d // 1000}ms {s}"
    if d > 0:
        return f"{d}us {s}"
    return "now"


def format_timestamp_usec(t_usec: int) -> str:
    """``Sat 2026-12-05 05:00:00 UTC`` in the local zone (systemd's format_timestamp())."""
    return time.strftime("%a %Y-%m-%d %H:%M:%S %Z", time.localtime(t_usec // USEC_PER_SEC))
