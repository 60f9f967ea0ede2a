"""Output formatting exactly as juju/cmd does it (``output.go``), in Python.

* ``json``: Go ``encoding/json`` (compact, map keys sorted, ``<>&`` and U+2028/9 escaped, Go
  float formatting), then ``\\n``.
* ``yaml``: gopkg.in/yaml.v2 ``Marshal`` (map keys in yaml.v2's "natural" order, struct fields
  in declaration order, yaml.v2's quoting rules), trailing newlines collapsed to one; ``None``
  prints nothing.
* ``smart``: ``None`` nothing; ``str`` the string + ``\\n`` (empty: nothing); ``StringList``
  joined by newlines; ``bool`` ``True``/``False``; anything else YAML.

Python values model Go values: ``str``, ``int``, ``float``, ``bool``, ``None``, ``dict`` (a Go
map), ``list`` (a Go ``[]interface{}``), :class:`StringList` (a Go ``[]string``, which *smart*
prints one per line) and :class:`GoStruct` (a Go struct with yaml/json field tags).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

from ..formats._goyaml import go_yaml_key_less

__all__ = [
    "StringList",
    "NilStringList",
    "Field",
    "GoStruct",
    "go_quote",
    "go_quote_list",
    "go_json",
    "go_yaml",
    "format_value",
    "FORMATTERS",
]


class StringList(list[str]):
    """A Go ``[]string``: smart output prints one item per line."""


class NilStringList(StringList):
    """A nil Go ``[]string`` (always empty): smart prints nothing, yaml.v2 ``[]``, json
    ``null``."""


@dataclass(frozen=True)
class Field:
    """A Go struct field: its yaml and json names (``None`` = ``"-"``), value, omitempty.

    ``omitempty`` applies to both encodings unless ``json_only`` (a struct with json tags
    but no yaml tags: yaml.v2 then omits nothing).
    """

    yaml_name: str | None
    json_name: str | None
    value: Any
    omitempty: bool = False
    json_only: bool = False


class GoStruct:
    """A Go struct value: fields serialised in declaration order (not sorted)."""

    def __init__(self, *fields: Field) -> None:
        self.fields = fields

    def items(self, kind: str) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for f in self.fields:
            name = f.yaml_name if kind == "yaml" else f.json_name
            if name is None:
                continue
            omit = f.omitempty and not (f.json_only and kind == "yaml")
            if omit and _is_empty(f.value):
                continue
            out.append((name, f.value))
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoStruct) and self.fields == other.fields

    def __repr__(self) -> str:
        return f"GoStruct{self.fields!r}"


def _is_empty(value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) == 0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0
    return False


# --------------------------------------------------------------------------------------------
# Go's %q
# --------------------------------------------------------------------------------------------

_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def go_quote(s: str) -> str:
    """Go ``strconv.Quote`` (``%q`` of a string)."""
    out = ['"']
    for ch in s:
        esc = _GO_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
            continue
        code = ord(ch)
        if ch == " " or (ch.isprintable() and code != 0x7F):
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def go_quote_list(items: Sequence[str]) -> str:
    """Go ``%q`` of a ``[]string``: ``["a" "b"]``."""
    return "[" + " ".join(go_quote(i) for i in items) + "]"


# --------------------------------------------------------------------------------------------
# Go float formatting
# --------------------------------------------------------------------------------------------


def _shortest_digits(f: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of abs(f) and the decimal point position ``dp``
    (value = 0.d1d2... * 10**dp), as Go's ftoa computes them."""
    dec = Decimal(repr(abs(f))).normalize()
    _, digits, exponent = dec.as_tuple()
    ds = "".join(str(d) for d in digits).rstrip("0") or "0"
    assert isinstance(exponent, int)
    dp = len(digits) + exponent
    return ds, dp


def _fmt_e(neg: bool, ds: str, dp: int) -> str:
    mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
    exp = dp - 1 if ds != "0" else 0
    sign = "-" if exp < 0 else "+"
    return ("-" if neg else "") + f"{mant}e{sign}{abs(exp):02d}"


def _fmt_f(neg: bool, ds: str, dp: int) -> str:
    if ds == "0":
        return "-0" if neg else "0"
    if dp <= 0:
        s = "0." + "0" * (-dp) + ds
    elif dp >= len(ds):
        s = ds + "0" * (dp - len(ds))
    else:
        s = ds[:dp] + "." + ds[dp:]
    return ("-" if neg else "") + s


def go_format_float_g(f: float) -> str:
    """Go ``strconv.FormatFloat(f, 'g', -1, 64)``."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    neg = math.copysign(1.0, f) < 0
    ds, dp = _shortest_digits(f)
    if ds == "0":
        return "-0" if neg else "0"
    exp = dp - 1
    # Go: eprec = digs.nd; if shortest { eprec = 6 }; %e when exp < -4 || exp >= eprec.
    if exp < -4 or exp >= 6:
        return _fmt_e(neg, ds, dp)
    return _fmt_f(neg, ds, dp)


def go_json_float(f: float) -> str:
    """Go ``encoding/json`` float64 encoding."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"json: unsupported value: {go_format_float_g(f)}")
    neg = math.copysign(1.0, f) < 0
    ds, dp = _shortest_digits(f)
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        s = _fmt_e(neg, ds, dp)
        # clean up e-09 to e-9
        m = re.match(r"^(.*e-)0(\d)$", s)
        if m:
            s = m.group(1) + m.group(2)
        return s
    return _fmt_f(neg, ds, dp)


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------


#: how Go's encoding/json writes each rune it escapes (HTML-safe, as json.Marshal does): the
#: short escapes, \u00XX for the other control characters, <, > and & as \u003c..., the
#: line and paragraph separators; a lone surrogate (invalid UTF-8 in Go) becomes U+FFFD.
_GO_JSON_ESCAPES: dict[int, str] = {
    **{c: f"\\u{c:04x}" for c in range(0x20)},
    **{ord(c): f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"},
    **{c: "\\ufffd" for c in range(0xD800, 0xE000)},
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    ord("\b"): "\\b",
    ord("\f"): "\\f",
}


def _json_string(s: str) -> str:
    return '"' + s.translate(_GO_JSON_ESCAPES) + '"'


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        raise TypeError("json: unsupported map key type bool")
    if isinstance(key, int):
        return str(key)
    raise TypeError(f"json: unsupported map key type {type(key).__name__}")


def go_json(value: Any) -> str:
    """Go ``json.Marshal(value)`` (without the trailing newline)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_json_float(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, GoStruct):
        return (
            "{" + ",".join(f"{_json_string(k)}:{go_json(v)}" for k, v in value.items("json")) + "}"
        )
    if isinstance(value, Mapping):
        pairs = sorted(((_json_key(k), v) for k, v in value.items()), key=lambda kv: kv[0])
        return "{" + ",".join(f"{_json_string(k)}:{go_json(v)}" for k, v in pairs) + "}"
    if isinstance(value, NilStringList):
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    raise TypeError(f"json: unsupported type {type(value).__name__}")


# --------------------------------------------------------------------------------------------
# YAML (gopkg.in/yaml.v2)
# --------------------------------------------------------------------------------------------

_V2_BOOL_NULL = {
    s
    for group in (
        ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"],
        ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"],
        ["", "~", "null", "Null", "NULL"],
        [".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"],
        ["-.inf", "-.Inf", "-.INF", "<<"],
    )
    for s in group
}
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_BASE60_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_GO_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
_GO_FLOAT = re.compile(
    r"^[-+]?((\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
    r"|0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][-+]?\d+"
    r"|[iI][nN][fF]([iI][nN][iI][tT][yY])?|[nN][aA][nN])$"
)
_TIMESTAMP = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}"
    r"(([Tt]\d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?(Z|[-+]\d{2}:\d{2}))"
    r"|( \d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?))?$"
)


def _v2_resolves_to_string(s: str) -> bool:
    """True if yaml.v2 ``resolve("", s)`` gives ``!!str`` (so the string may stay plain)."""
    if s in _V2_BOOL_NULL:
        return False
    if not s:
        return False
    hint = s[0]
    if hint == ".":
        return not _GO_FLOAT.match(s)
    if hint in "+-0123456789":
        if _TIMESTAMP.match(s):
            return False
        plain = s.replace("_", "")
        if _GO_INT.match(plain):
            return False
        if _YAML_STYLE_FLOAT.match(plain):
            return False
        if re.match(r"^-?0b[01]+$", plain):
            return False
    return True


def _is_base60_float(s: str) -> bool:
    if not s or not (s[0] in "+-" or s[0].isdigit()) or ":" not in s:
        return False
    return bool(_BASE60_FLOAT.match(s))


def _v2_key_less(a: Any, b: Any) -> bool:
    """yaml.v2 ``keyList.Less``."""

    def as_float(v: Any) -> float | None:
        if isinstance(v, bool):
            return 1.0 if v else 0.0
        if isinstance(v, (int, float)):
            return float(v)
        return None

    af, bf = as_float(a), as_float(b)
    if af is not None and bf is not None:
        if af != bf:
            return af < bf
        return bool(a < b)
    if not isinstance(a, str) or not isinstance(b, str):
        # Go compares reflect.Kind numbers; numbers/bools sort before strings.
        return isinstance(b, str)
    return go_yaml_key_less(a, b)


def _v2_key_cmp(a: Any, b: Any) -> int:
    if _v2_key_less(a, b):
        return -1
    if _v2_key_less(b, a):
        return 1
    return 0


class _V2Dumper(yaml.SafeDumper):
    """A PyYAML dumper whose every scalar is a ``!!str`` with the style yaml.v2 would choose.

    The emitter (a port of libyaml, like yaml.v2's) then decides plain vs quoted exactly as
    yaml.v2's does; no implicit resolvers, so plain scalars are never tagged.
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}


_STR = "tag:yaml.org,2002:str"


def _scalar(text: str, style: str | None = None) -> yaml.ScalarNode:
    return yaml.ScalarNode(_STR, text, style=style)


def _to_node(value: Any) -> yaml.Node:
    if value is None:
        return _scalar("null")
    if value is True:
        return _scalar("true")
    if value is False:
        return _scalar("false")
    if isinstance(value, int):
        return _scalar(str(value))
    if isinstance(value, float):
        s = go_format_float_g(value)
        s = {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(s, s)
        return _scalar(s)
    if isinstance(value, str):
        if "\n" in value:
            return _scalar(value, "|")
        if _v2_resolves_to_string(value) and not _is_base60_float(value):
            return _scalar(value)
        return _scalar(value, '"')
    if isinstance(value, GoStruct):
        pairs = [(_to_node(k), _to_node(v)) for k, v in value.items("yaml")]
        return yaml.MappingNode("tag:yaml.org,2002:map", pairs, flow_style=False)
    if isinstance(value, Mapping):
        keys = sorted(value.keys(), key=functools.cmp_to_key(_v2_key_cmp))
        pairs = [(_to_node(k), _to_node(value[k])) for k in keys]
        return yaml.MappingNode("tag:yaml.org,2002:map", pairs, flow_style=False)
    if isinstance(value, (list, tuple)):
        return yaml.SequenceNode(
            "tag:yaml.org,2002:seq", [_to_node(v) for v in value], flow_style=False
        )
    raise TypeError(f"yaml: cannot marshal type {type(value).__name__}")


def go_yaml(value: Any) -> str:
    """yaml.v2 ``Marshal(value)`` as text (``None`` marshals to ``null\\n``)."""
    node = _to_node(value)
    out = yaml.serialize(node, Dumper=_V2Dumper, allow_unicode=True, width=80, indent=2)
    assert isinstance(out, str)
    if out.endswith("\n...\n"):
        out = out[: -len("...\n")]
    return out


# --------------------------------------------------------------------------------------------
# juju/cmd formatters
# --------------------------------------------------------------------------------------------


def format_yaml(value: Any) -> bytes:
    if value is None:
        return b""
    text = go_yaml(value).rstrip("\n")
    return (text + "\n").encode() if text else b""


def format_json(value: Any) -> bytes:
    return (go_json(value) + "\n").encode()


def format_smart(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bool):
        text = "True" if value else "False"
    elif isinstance(value, StringList):
        text = "\n".join(value)
    elif isinstance(value, str):
        text = value
    else:
        return format_yaml(value)
    return (text + "\n").encode() if text else b""


FORMATTERS = {"smart": format_smart, "yaml": format_yaml, "json": format_json}


def format_value(fmt: str, value: Any) -> bytes:
    """Format ``value`` with the named juju/cmd formatter."""
    return FORMATTERS[fmt](value)
