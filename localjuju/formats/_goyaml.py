"""YAML output as Juju prints it: go-yaml v2 (juju's fork ``github.com/juju/yaml/v2``).

Juju's CLI marshals YAML with ``gopkg.in/yaml.v2``, replaced in juju 3.6's go.mod by
``github.com/juju/yaml/v2 v2.0.0`` (only the float resolver differs from upstream), and
``cmd.FormatYaml`` (juju/cmd v3 output.go) trims trailing newlines and appends exactly one.

This module re-implements, for the value shapes Juju prints (mappings, sequences, strings,
ints, floats, bools, null), the choices go-yaml v2 makes, which differ from PyYAML's:

* struct fields keep declaration order (:class:`GoStruct`); map keys are sorted with
  go-yaml's ``keyList.Less`` (digits compared numerically, letters before other runes);
* a string that would read back as another type (``"1"``, ``"yes"``, ``"y"``, ``""``,
  ``"2006-01-02"``, ``"1:20"``) is double-quoted, not single-quoted;
* a string containing a newline is a literal block (``|-``, ``|``, ``|+``);
* plain and quoted scalars fold at column 80 like libyaml;
* empty mappings and sequences are ``{}`` and ``[]``; sequences inside a mapping are not
  indented (``key:\\n- item``);
* non-printable characters (including TAB and anything beyond the BMP) force double quotes
  with ``\\t``, ``\\e``, ``\\xXX``, ``\\uXXXX``, ``\\UXXXXXXXX`` escapes.

Sources: juju/yaml (branch v2) encode.go (``stringv``, ``floatv``), resolve.go, sorter.go,
emitterc.go (``yaml_emitter_analyze_scalar``, ``yaml_emitter_select_scalar_style``, the
``write_*_scalar`` functions).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._go import GoStruct, go_float_g

__all__ = ["go_yaml", "go_yaml_key_less"]

_PLAIN, _SINGLE, _DOUBLE, _LITERAL = "plain", "single", "double", "literal"

_BEST_INDENT = 2
_BEST_WIDTH = 80

_RESOLVE_MAP: dict[str, str] = {}
for _tag, _words in (
    ("bool", ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")),
    ("bool", ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")),
    ("null", ("", "~", "null", "Null", "NULL")),
    ("float", (".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")),
    ("float", ("-.inf", "-.Inf", "-.INF")),
    ("merge", ("<<",)),
):
    for _w in _words:
        _RESOLVE_MAP[_w] = _tag

_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(0|[1-9][0-9]*)?(\.[0-9]+)?([eE][-+][0-9]+)?$")
_BASE60_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_GO_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_TS_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_TS_SPACE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?$")
_TS_T = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?"
    r"(Z|[+-]\d{2}:\d{2})$"
)


def _valid_date(y: int, m: int, d: int) -> bool:
    if not 1 <= m <= 12 or d < 1:
        return False
    days = [31, 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28, 31, 30, 31]
    days += [30, 31, 31, 30, 31, 30, 31]
    return d <= days[m - 1]


def _is_timestamp(s: str) -> bool:
    """go-yaml v2 ``parseTimestamp`` (the four layouts it accepts)."""
    m = _TS_DATE.match(s)
    if m:
        return _valid_date(int(m[1]), int(m[2]), int(m[3]))
    m = _TS_SPACE.match(s) or _TS_T.match(s)
    if m:
        ok = _valid_date(int(m[1]), int(m[2]), int(m[3]))
        return ok and int(m[4]) < 24 and int(m[5]) < 60 and int(m[6]) < 60
    return False


def _go_parse_int(s: str, unsigned: bool) -> bool:
    """Whether ``strconv.ParseInt(s, 0, 64)`` (or ParseUint) succeeds."""
    body = s
    neg = False
    if not unsigned and body[:1] in "+-":
        neg = body[0] == "-"
        body = body[1:]
    if not body:
        return False
    base = 10
    low = body.lower()
    if low.startswith("0x"):
        base, body = 16, body[2:]
    elif low.startswith("0b"):
        base, body = 2, body[2:]
    elif low.startswith("0o"):
        base, body = 8, body[2:]
    elif body.startswith("0") and len(body) > 1:
        base, body = 8, body[1:]
    if not body:
        return False
    try:
        v = int(body, base)
    except ValueError:
        return False
    if not body.isascii() or "_" in body or " " in body:
        return False
    if unsigned:
        return v <= 2**64 - 1
    return v <= 2**63 if neg else v <= 2**63 - 1


def _resolves_to_str(s: str) -> bool:
    """go-yaml v2 ``resolve("", s)`` returns !!str (the plain text reads back as itself)."""
    hint = s[0] if s else "N"
    if hint not in "+-0123456789yYnNtTfFoO~.N":
        return True
    if s in _RESOLVE_MAP:
        return False
    if hint in "yYnNtTfFoO~":
        return True
    if hint == ".":
        return not _GO_FLOAT.match(s)
    # 'D' or 'S': int, float or timestamp
    if _is_timestamp(s):
        return False
    plain = s.replace("_", "")
    if _go_parse_int(plain, False) or _go_parse_int(plain, True):
        return False
    if _YAML_STYLE_FLOAT.match(plain) and _GO_FLOAT.match(plain):
        return False
    if plain.startswith("0b") and plain[2:] and set(plain[2:]) <= {"0", "1"}:
        return False
    if plain.startswith("-0b") and plain[3:] and set(plain[3:]) <= {"0", "1"}:
        return False
    return True


def _is_printable(ch: str) -> bool:
    c = ord(ch)
    return (
        c == 0x0A
        or 0x20 <= c <= 0x7E
        or 0xA0 <= c <= 0xD7FF
        or (0xE000 <= c <= 0xFFFD and c != 0xFEFF)
    )


def _is_break(ch: str) -> bool:
    return ch in "\r\n\x85\u2028\u2029"


def _is_blank(ch: str) -> bool:
    return ch in " \t"


def go_yaml_key_less(a: str, b: str) -> bool:
    """go-yaml v2 ``keyList.Less`` for two string keys."""
    ar, br = a, b
    for i in range(min(len(ar), len(br))):
        if ar[i] == br[i]:
            continue
        al, bl = ar[i].isalpha(), br[i].isalpha()
        if al and bl:
            return ar[i] < br[i]
        if al or bl:
            return bl
        an = bn = 0
        if ar[i] == "0" or br[i] == "0":
            j = i - 1
            while j >= 0 and ar[j].isdigit():
                if ar[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(ar) and ar[ai].isdigit():
            an = an * 10 + (ord(ar[ai]) - 48)
            ai += 1
        bi = i
        while bi < len(br) and br[bi].isdigit():
            bn = bn * 10 + (ord(br[bi]) - 48)
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ar[i] < br[i]
    return len(ar) < len(br)


def _key_cmp(a: Any, b: Any) -> int:
    if isinstance(a, str) and isinstance(b, str):
        if go_yaml_key_less(a, b):
            return -1
        if go_yaml_key_less(b, a):
            return 1
        return 0
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return -1 if a < b else (1 if a > b else 0)
    # numbers (kind int/float) sort before strings (reflect.Kind order)
    return -1 if isinstance(a, (int, float)) else 1


class _Analysis:
    __slots__ = ("multiline", "flow_plain", "block_plain", "single_quoted", "block")

    def __init__(self, value: str) -> None:
        if not value:
            self.multiline = False
            self.flow_plain = False
            self.block_plain = True
            self.single_quoted = True
            self.block = False
            return
        block_ind = flow_ind = line_breaks = special = False
        leading_space = leading_break = trailing_space = trailing_break = False
        break_space = space_break = False
        previous_space = previous_break = False
        if value.startswith("---") or value.startswith("..."):
            block_ind = flow_ind = True
        preceded_by_ws = True
        n = len(value)
        for i, ch in enumerate(value):
            followed_by_ws = i + 1 >= n or _is_blank(value[i + 1])
            if i == 0:
                if ch in "#,[]{}&*!|>'\"%@`":
                    flow_ind = block_ind = True
                elif ch in "?:":
                    flow_ind = True
                    if followed_by_ws:
                        block_ind = True
                elif ch == "-":
                    if followed_by_ws:
                        flow_ind = block_ind = True
            else:
                if ch in ",?[]{}":
                    flow_ind = True
                elif ch == ":":
                    flow_ind = True
                    if followed_by_ws:
                        block_ind = True
                elif ch == "#":
                    if preceded_by_ws:
                        flow_ind = block_ind = True
            if not _is_printable(ch):
                special = True
            if ch == " ":
                if i == 0:
                    leading_space = True
                if i + 1 == n:
                    trailing_space = True
                if previous_break:
                    break_space = True
                previous_space, previous_break = True, False
            elif _is_break(ch):
                line_breaks = True
                if i == 0:
                    leading_break = True
                if i + 1 == n:
                    trailing_break = True
                if previous_space:
                    space_break = True
                previous_space, previous_break = False, True
            else:
                previous_space = previous_break = False
            preceded_by_ws = _is_blank(ch) or _is_break(ch)
        self.multiline = line_breaks
        self.flow_plain = self.block_plain = self.single_quoted = self.block = True
        if leading_space or leading_break or trailing_space or trailing_break:
            self.flow_plain = self.block_plain = False
        if trailing_space:
            self.block = False
        if break_space:
            self.flow_plain = self.block_plain = self.single_quoted = False
        if space_break or special:
            self.flow_plain = self.block_plain = self.single_quoted = self.block = False
        if line_breaks:
            self.flow_plain = self.block_plain = False
        if flow_ind:
            self.flow_plain = False
        if block_ind:
            self.block_plain = False


class _Emitter:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.column = 0
        self.whitespace = True
        self.indention = True
        self.indent = -1
        self.indents: list[int] = []
        self.flow_level = 0
        self.root_context = False
        self.sequence_context = False
        self.mapping_context = False
        self.simple_key_context = False

    # -- low level ---------------------------------------------------------------------
    def put(self, s: str) -> None:
        self.out.append(s)
        self.column += len(s)

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0

    def write_break(self, ch: str) -> None:
        if ch == "\n":
            self.put_break()
        else:
            self.out.append(ch)
            self.column = 0

    def write_indent(self) -> None:
        indent = max(self.indent, 0)
        if (
            not self.indention
            or self.column > indent
            or (self.column == indent and not self.whitespace)
        ):
            self.put_break()
        while self.column < indent:
            self.put(" ")
        self.whitespace = True
        self.indention = True

    def write_indicator(
        self, indicator: str, need_ws: bool, is_ws: bool, is_indention: bool
    ) -> None:
        if need_ws and not self.whitespace:
            self.put(" ")
        self.put(indicator)
        self.whitespace = is_ws
        self.indention = self.indention and is_indention

    def increase_indent(self, flow: bool, indentless: bool) -> None:
        self.indents.append(self.indent)
        if self.indent < 0:
            self.indent = _BEST_INDENT if flow else 0
        elif not indentless:
            self.indent += _BEST_INDENT

    def pop_indent(self) -> None:
        self.indent = self.indents.pop()

    # -- nodes -------------------------------------------------------------------------
    def node(
        self, value: Any, *, root: bool = False, sequence: bool = False, mapping: bool = False
    ) -> None:
        self.root_context = root
        self.sequence_context = sequence
        self.mapping_context = mapping
        self.simple_key_context = False
        if isinstance(value, Mapping):
            self.mapping_node(value)
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)):
            self.sequence_node(value)
        else:
            self.scalar_node(*_scalar(value))

    def empty_flow(self, open_: str, close: str) -> None:
        self.write_indicator(open_, True, True, False)
        self.increase_indent(True, False)
        self.pop_indent()
        self.write_indicator(close, False, False, False)

    def mapping_node(self, m: Mapping[Any, Any]) -> None:
        if not m:
            self.empty_flow("{", "}")
            return
        keys = list(m.keys())
        if not isinstance(m, GoStruct):
            keys.sort(key=functools.cmp_to_key(_key_cmp))
        self.increase_indent(False, False)
        for k in keys:
            self.write_indent()
            text, style = _scalar(k)
            analysis = _Analysis(text)
            if not analysis.multiline and len(text.encode("utf-8")) <= 128:
                self.root_context = self.sequence_context = False
                self.mapping_context = self.simple_key_context = True
                self.scalar_node(text, style, analysis)
                self.write_indicator(":", False, False, False)
            else:
                self.write_indicator("?", True, False, True)
                self.root_context = self.sequence_context = self.simple_key_context = False
                self.mapping_context = True
                self.scalar_node(text, style, analysis)
                self.write_indent()
                self.write_indicator(":", True, False, True)
            self.node(m[k], mapping=True)
        self.pop_indent()

    def sequence_node(self, seq: Sequence[Any]) -> None:
        if not seq:
            self.empty_flow("[", "]")
            return
        self.increase_indent(False, self.mapping_context and not self.indention)
        for item in seq:
            self.write_indent()
            self.write_indicator("-", True, False, True)
            self.node(item, sequence=True)
        self.pop_indent()

    def scalar_node(self, value: str, style: str, analysis: _Analysis | None = None) -> None:
        a = analysis or _Analysis(value)
        if self.simple_key_context and a.multiline:
            style = _DOUBLE
        if style == _PLAIN:
            if (self.flow_level > 0 and not a.flow_plain) or (
                self.flow_level == 0 and not a.block_plain
            ):
                style = _SINGLE
            if not value and (self.flow_level > 0 or self.simple_key_context):
                style = _SINGLE
        if style == _SINGLE and not a.single_quoted:
            style = _DOUBLE
        if style == _LITERAL and (not a.block or self.flow_level > 0 or self.simple_key_context):
            style = _DOUBLE
        self.increase_indent(True, False)
        allow_breaks = not self.simple_key_context
        if style == _PLAIN:
            self.write_plain(value, allow_breaks)
        elif style == _SINGLE:
            self.write_single(value, allow_breaks)
        elif style == _DOUBLE:
            self.write_double(value, allow_breaks)
        else:
            self.write_literal(value)
        self.pop_indent()

    # -- scalar writers ----------------------------------------------------------------
    def write_plain(self, value: str, allow_breaks: bool) -> None:
        if not self.whitespace:
            self.put(" ")
        spaces = breaks = False
        n = len(value)
        for i, ch in enumerate(value):
            if ch == " ":
                nxt = value[i + 1] if i + 1 < n else ""
                if allow_breaks and not spaces and self.column > _BEST_WIDTH and nxt != " ":
                    self.write_indent()
                else:
                    self.put(ch)
                spaces = True
            elif _is_break(ch):
                if not breaks and ch == "\n":
                    self.put_break()
                self.write_break(ch)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(ch)
                self.indention = False
                spaces = breaks = False
        self.whitespace = False
        self.indention = False

    def write_single(self, value: str, allow_breaks: bool) -> None:
        self.write_indicator("'", True, False, False)
        spaces = breaks = False
        n = len(value)
        for i, ch in enumerate(value):
            if ch == " ":
                nxt = value[i + 1] if i + 1 < n else ""
                if (
                    allow_breaks
                    and not spaces
                    and self.column > _BEST_WIDTH
                    and 0 < i < n - 1
                    and nxt != " "
                ):
                    self.write_indent()
                else:
                    self.put(ch)
                spaces = True
            elif _is_break(ch):
                if not breaks and ch == "\n":
                    self.put_break()
                self.write_break(ch)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                if ch == "'":
                    self.put("'")
                self.put(ch)
                self.indention = False
                spaces = breaks = False
        self.write_indicator("'", False, False, False)
        self.whitespace = False
        self.indention = False

    _ESCAPES = {
        0x00: "0",
        0x07: "a",
        0x08: "b",
        0x09: "t",
        0x0A: "n",
        0x0B: "v",
        0x0C: "f",
        0x0D: "r",
        0x1B: "e",
        0x22: '"',
        0x5C: "\\",
        0x85: "N",
        0xA0: "_",
        0x2028: "L",
        0x2029: "P",
    }

    def write_double(self, value: str, allow_breaks: bool) -> None:
        spaces = False
        self.write_indicator('"', True, False, False)
        n = len(value)
        for i, ch in enumerate(value):
            c = ord(ch)
            if not _is_printable(ch) or c == 0xFEFF or _is_break(ch) or ch in '"\\':
                self.put("\\")
                esc = self._ESCAPES.get(c)
                if esc is not None:
                    self.put(esc)
                elif c <= 0xFF:
                    self.put(f"x{c:02X}")
                elif c <= 0xFFFF:
                    self.put(f"u{c:04X}")
                else:
                    self.put(f"U{c:08X}")
                spaces = False
            elif ch == " ":
                if allow_breaks and not spaces and self.column > _BEST_WIDTH and 0 < i < n - 1:
                    self.write_indent()
                    if i + 1 < n and value[i + 1] == " ":
                        self.put("\\")
                else:
                    self.put(ch)
                spaces = True
            else:
                self.put(ch)
                spaces = False
        self.write_indicator('"', False, False, False)
        self.whitespace = False
        self.indention = False

    def write_literal(self, value: str) -> None:
        self.write_indicator("|", True, False, False)
        if value[:1] == " " or (value and _is_break(value[0])):
            self.write_indicator(str(_BEST_INDENT), False, False, False)
        chomp = ""
        if not value or not _is_break(value[-1]):
            chomp = "-"
        elif len(value) == 1 or _is_break(value[-2]):
            chomp = "+"
        if chomp:
            self.write_indicator(chomp, False, False, False)
        self.put_break()
        self.indention = True
        self.whitespace = True
        breaks = True
        for ch in value:
            if _is_break(ch):
                self.write_break(ch)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(ch)
                self.indention = False
                breaks = False


def _scalar(v: Any) -> tuple[str, str]:
    """The text and requested style go-yaml's encoder gives a scalar value."""
    if v is None:
        return "null", _PLAIN
    if v is True:
        return "true", _PLAIN
    if v is False:
        return "false", _PLAIN
    if isinstance(v, int):
        return str(v), _PLAIN
    if isinstance(v, float):
        if math.isnan(v):
            return ".nan", _PLAIN
        if math.isinf(v):
            return (".inf" if v > 0 else "-.inf"), _PLAIN
        return go_float_g(v), _PLAIN
    if isinstance(v, str):
        can_plain = _resolves_to_str(v) and not (
            v[:1] in "+-0123456789" and ":" in v and _BASE60_FLOAT.match(v)
        )
        if "\n" in v:
            return v, _LITERAL
        return v, (_PLAIN if can_plain else _DOUBLE)
    raise TypeError(f"cannot marshal {type(v).__name__} as YAML")


def go_yaml(value: Any) -> str:
    """``cmd.FormatYaml``: go-yaml v2 ``Marshal`` with exactly one trailing newline.

    Returns ``""`` for ``None`` (FormatYaml prints nothing for a nil value).
    """
    if value is None:
        return ""
    e = _Emitter()
    e.node(value, root=True)
    # document end: a newline unless already at the start of a line
    text = "".join(e.out).rstrip("\n")
    return text + "\n" if text else ""
