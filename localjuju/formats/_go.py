"""Go-isms shared by the formatters: struct values, ``encoding/json`` output, time layouts.

Juju's CLI is written in Go. Three of its conventions matter for byte-exact output:

* A Go *struct* serialises its fields in declaration order; a Go *map* serialises with
  its keys sorted. :class:`GoStruct` marks the former, a plain ``dict`` is the latter.
* ``encoding/json`` (``json.Marshal``, used by ``cmd.FormatJson``) prints one compact line,
  escapes ``<``, ``>``, ``&``, U+2028 and U+2029, keeps other non-ASCII text raw, and
  prints floats in Go's own shortest form (``1`` not ``1.0``, ``1e+21``, ``1e-7``).
* Go time layouts (``02 Jan 2006 15:04:05Z07:00`` and friends).

Sources: golang ``encoding/json`` (encode.go, ``floatEncoder``), juju/cmd v3 ``output.go``
(``FormatJson`` appends ``"\\n"``), juju ``cmd/juju/common/format.go``.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "GoStruct",
    "go_json",
    "go_float_json",
    "go_float_g",
    "go_time_string",
    "format_time",
    "format_timestamp",
    "format_offset",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class GoStruct(dict[str, Any]):
    """A mapping whose keys keep insertion order when serialised (a Go struct).

    A plain ``dict`` is treated as a Go map: JSON sorts its keys by byte value, YAML by
    go-yaml's "natural" key order.
    """


def _shortest_digits(f: float) -> tuple[str, int]:
    """Shortest round-trip digits of abs(f) and the decimal point position.

    Returns ``(digits, dp)`` with value = 0.digits * 10**dp, as Go's strconv computes.
    """
    t = decimal.Decimal(repr(abs(f))).normalize().as_tuple()
    digits = "".join(str(d) for d in t.digits)
    assert isinstance(t.exponent, int)
    dp = len(digits) + t.exponent
    return digits, dp


def _fmt_f(digits: str, dp: int) -> str:
    if dp <= 0:
        return "0." + "0" * (-dp) + digits
    if dp >= len(digits):
        return digits + "0" * (dp - len(digits))
    return digits[:dp] + "." + digits[dp:]


def _fmt_e(digits: str, dp: int) -> str:
    exp = dp - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exp < 0 else "+"
    return f"{mant}e{sign}{abs(exp):02d}"


def go_float_json(f: float) -> str:
    """A float64 as ``encoding/json`` prints it."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"json: unsupported value: {f!r}")
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    digits, dp = _shortest_digits(f)
    a = abs(f)
    neg = "-" if f < 0 else ""
    if a < 1e-6 or a >= 1e21:
        s = _fmt_e(digits, dp)
        # encoding/json cleans up e-09 to e-9
        if len(s) >= 4 and s[-4] == "e" and s[-3] == "-" and s[-2] == "0":
            s = s[:-2] + s[-1]
        return neg + s
    return neg + _fmt_f(digits, dp)


def go_float_g(f: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 64)`` (what go-yaml v2 prints for a float)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    digits, dp = _shortest_digits(f)
    neg = "-" if f < 0 else ""
    exp = dp - 1
    # strconv: with the shortest precision, %e is used when exp < -4 || exp >= 6.
    if exp < -4 or exp >= 6:
        return neg + _fmt_e(digits, dp)
    return neg + _fmt_f(digits, dp)


def _escape_json_string(s: str) -> str:
    out = json.dumps(s, ensure_ascii=False)
    return (
        out.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _json(v: Any, out: list[str]) -> None:
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, float):
        out.append(go_float_json(v))
    elif isinstance(v, str):
        out.append(_escape_json_string(v))
    elif isinstance(v, Mapping):
        keys = list(v.keys())
        if not isinstance(v, GoStruct):
            keys.sort(key=lambda k: str(k).encode("utf-8"))
        out.append("{")
        for i, k in enumerate(keys):
            if i:
                out.append(",")
            out.append(_escape_json_string(str(k)))
            out.append(":")
            _json(v[k], out)
        out.append("}")
    elif isinstance(v, Sequence) and not isinstance(v, (bytes, bytearray)):
        out.append("[")
        for i, item in enumerate(v):
            if i:
                out.append(",")
            _json(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot marshal {type(v).__name__} as JSON")


def go_json(value: Any) -> str:
    """``cmd.FormatJson``: ``json.Marshal(value)`` followed by a newline."""
    out: list[str] = []
    _json(value, out)
    return "".join(out) + "\n"


def format_offset(dt: datetime.datetime) -> str:
    """Go's ``Z07:00``: ``Z`` for UTC, else ``+01:00``."""
    off = dt.utcoffset()
    if off is None or off == datetime.timedelta(0):
        return "Z"
    total = int(off.total_seconds())
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return f"{sign}{total // 3600:02d}:{(total % 3600) // 60:02d}"


def _in_zone(dt: datetime.datetime, utc: bool, tz: datetime.tzinfo | None) -> datetime.datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    if utc:
        return dt.astimezone(datetime.timezone.utc)
    return dt.astimezone(tz) if tz is not None else dt.astimezone()


def format_time(
    dt: datetime.datetime, *, utc: bool = False, tz: datetime.tzinfo | None = None
) -> str:
    """``common.FormatTime``: status ``since`` values.

    ``utc`` (``juju status --utc`` or ``JUJU_STATUS_ISO_TIME``) gives
    ``2006-01-02 15:04:05Z`` in UTC; otherwise local time as ``02 Jan 2006 15:04:05Z07:00``.
    ``tz`` overrides the local time zone (default: the process's).
    """
    t = _in_zone(dt, utc, tz)
    if utc:
        return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t:%H:%M:%S}Z"
    return f"{t.day:02d} {_MONTHS[t.month - 1]} {t.year:04d} {t:%H:%M:%S}{format_offset(t)}"


def format_timestamp(
    dt: datetime.datetime, *, utc: bool = False, tz: datetime.tzinfo | None = None
) -> str:
    """``common.FormatTimeAsTimestamp``: the status ``controller.timestamp``.

    ``15:04:05`` in UTC with ``utc``; otherwise local ``15:04:05Z07:00``.
    """
    t = _in_zone(dt, utc, tz)
    if utc:
        return f"{t:%H:%M:%S}"
    return f"{t:%H:%M:%S}{format_offset(t)}"


def _zone_abbrev(t: datetime.datetime) -> str:
    name = t.tzname() or ""
    if name in ("", "UTC+00:00") or name.startswith("UTC"):
        off = t.utcoffset() or datetime.timedelta(0)
        if off == datetime.timedelta(0):
            return "UTC"
        total = int(off.total_seconds())
        sign = "+" if total >= 0 else "-"
        total = abs(total)
        return f"{sign}{total // 3600:02d}{(total % 3600) // 60:02d}"
    return name


def go_time_string(
    dt: datetime.datetime, *, utc: bool = False, tz: datetime.tzinfo | None = None
) -> str:
    """Go's ``time.Time.String()``: ``2006-01-02 15:04:05.999999999 -0700 MST``.

    Used for action ``timing`` and ``log`` entries. The fractional part drops trailing
    zeros (and the dot when zero). For a zone without an abbreviation Go prints the
    numeric offset (``+0100``) in the MST position; UTC prints ``UTC``.
    """
    t = _in_zone(dt, utc, tz)
    frac = ""
    if t.microsecond:
        frac = ("." + f"{t.microsecond:06d}").rstrip("0")
    off = t.utcoffset() or datetime.timedelta(0)
    total = int(off.total_seconds())
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    numeric = f"{sign}{total // 3600:02d}{(total % 3600) // 60:02d}"
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t:%H:%M:%S}{frac} "
        f"{numeric} {_zone_abbrev(t)}"
    )
