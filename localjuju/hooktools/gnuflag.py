"""A port of github.com/juju/gnuflag's parser and juju/cmd's ``Main`` and help rendering.

Behaviour reproduced: interspersed options, ``--opt=value`` / ``--opt value`` / ``-o value`` /
``-ovalue`` / grouped single-letter booleans (``-ab``), ``--`` ends options, ``-`` is an
argument, ``--help``/``-h`` print help (exit 0), and the error messages of gnuflag with
``FlagKnownAs = "option"`` (``option provided but not defined: --foo``, ``option needs an
argument: --format``, ``invalid value "x" for option -r: ...``).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, field

from .formatting import go_quote

KNOWN_AS = "option"


class FlagError(Exception):
    """An option-parsing error (exit code 2)."""


class HelpRequested(Exception):
    """``--help`` or ``-h`` was given."""


class Value:
    """A gnuflag.Value: ``set(text)`` raises ValueError(message) on bad input."""

    is_bool = False
    quoted_default = False

    def set(self, text: str) -> None:
        raise NotImplementedError

    def string(self) -> str:
        raise NotImplementedError


class BoolValue(Value):
    is_bool = True

    def __init__(self, default: bool = False) -> None:
        self.value = default

    def set(self, text: str) -> None:
        self.value = parse_go_bool(text)

    def string(self) -> str:
        return "true" if self.value else "false"


class StringValue(Value):
    quoted_default = True

    def __init__(self, default: str = "") -> None:
        self.value = default

    def set(self, text: str) -> None:
        self.value = text

    def string(self) -> str:
        return self.value


class FuncValue(Value):
    """A custom Value: ``setter(text)`` stores it (raising ValueError), ``getter()`` shows it."""

    def __init__(self, setter: Callable[[str], None], getter: Callable[[], str]) -> None:
        self._setter = setter
        self._getter = getter

    def set(self, text: str) -> None:
        self._setter(text)

    def string(self) -> str:
        return self._getter()


def parse_go_bool(text: str) -> bool:
    """Go ``strconv.ParseBool``."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f"strconv.ParseBool: parsing {go_quote(text)}: invalid syntax")


@dataclass
class Flag:
    name: str
    value: Value
    usage: str
    default: str


def _with_minus(name: str) -> str:
    return "--" + name if len(name) > 1 else "-" + name


@dataclass
class FlagSet:
    """The option set of one command."""

    flags: dict[str, Flag] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    actual: set[str] = field(default_factory=set)

    def var(self, value: Value, name: str, usage: str) -> None:
        if name in self.flags:
            raise RuntimeError(f"{KNOWN_AS} redefinition: {name}")
        self.flags[name] = Flag(name, value, usage, value.string())

    def bool(self, name: str, usage: str, value: BoolValue | None = None) -> BoolValue:
        v = value if value is not None else BoolValue()
        self.var(v, name, usage)
        return v

    def string(
        self, name: str, default: str, usage: str, value: StringValue | None = None
    ) -> StringValue:
        v = value if value is not None else StringValue(default)
        self.var(v, name, usage)
        return v

    # ---- parsing (gnuflag FlagSet.Parse) --------------------------------------------------
    def parse(self, arguments: list[str], allow_intersperse: builtins.bool = True) -> None:
        proc = list(arguments)
        self.args = []
        while proc:
            a = proc[0]
            if a == "-" or a == "" or a[0] != "-":
                if allow_intersperse:
                    self.args.append(a)
                    proc.pop(0)
                    continue
                self.args.extend(proc)
                return
            if a == "--":
                self.args.extend(proc[1:])
                return
            proc.pop(0)
            if a[1] == "-":
                i = a.find("=")
                if i < 0:
                    self._parse_flag(a[2:], None, True, proc)
                else:
                    name = a[2:i]
                    if name == "":
                        raise FlagError(f"empty {KNOWN_AS} in argument {go_quote(a)}")
                    self._parse_flag(name, a[i + 1 :], True, proc)
                continue
            # one or more single-rune options
            rest = a[1:]
            while rest:
                name, rest = rest[0], rest[1:]
                flag = self.flags.get(name)
                if flag is not None and flag.value.is_bool and not rest.startswith("="):
                    self._parse_flag(name, None, False, proc)
                    continue
                # the remainder (if any) is this option's value
                self._parse_flag(name, rest if rest else None, False, proc)
                rest = ""

    def _parse_flag(
        self, name: str, attached: str | None, long: builtins.bool, proc: list[str]
    ) -> None:
        flag = self.flags.get(name)
        if flag is None:
            if name in ("help", "h"):
                raise HelpRequested()
            raise FlagError(f"{KNOWN_AS} provided but not defined: {_with_minus(name)}")
        if flag.value.is_bool and attached is None:
            flag.value.set("true")
        else:
            if attached is not None:
                value = attached
            elif proc:
                value = proc.pop(0)
            else:
                raise FlagError(f"{KNOWN_AS} needs an argument: {_with_minus(name)}")
            try:
                flag.value.set(value)
            except ValueError as e:
                raise FlagError(
                    f"invalid value {go_quote(value)} for {KNOWN_AS} {_with_minus(name)}: {e}"
                ) from None
        self.actual.add(name)

    def was_set(self, name: str) -> builtins.bool:
        return name in self.actual

    # ---- help (gnuflag PrintDefaults) -------------------------------------------------------
    def defaults_text(self) -> str:
        groups: dict[int, list[Flag]] = {}
        for f in self.flags.values():
            groups.setdefault(id(f.value), []).append(f)
        ordered = []
        for fs in groups.values():
            fs.sort(key=lambda f: (len(f.name), f.name))
            ordered.append(fs)
        ordered.sort(key=lambda fs: fs[0].name)
        lines = []
        for fs in ordered:
            names = ", ".join(_with_minus(f.name) for f in fs)
            first = fs[0]
            if first.value.quoted_default:
                lines.append(f"{names} (= {go_quote(first.default)})\n    {first.usage}\n")
            else:
                lines.append(f"{names}  (= {first.default})\n    {first.usage}\n")
        return "".join(lines)


def render_help(
    name: str, args: str, purpose: str, doc: str, examples: str, flags: FlagSet
) -> str:
    """juju/cmd ``Info.Help`` for a hook tool (options known as "options")."""
    out = [f"Usage: {name}"]
    if flags.flags:
        out.append(f" [{KNOWN_AS}s]")
    if args:
        out.append(f" {args}")
    out.append("\n")
    if purpose:
        out.append(f"\nSummary:\n{purpose.strip()}\n")
    if flags.flags:
        out.append(f"\n{KNOWN_AS.title()}s:\n")
        out.append(flags.defaults_text())
    if doc.strip():
        out.append(f"\nDetails:\n{doc.strip()}\n")
    if examples:
        out.append(f"\nExamples:\n{examples}")
    return "".join(out)


def check_empty(args: list[str]) -> None:
    """juju/cmd ``CheckEmpty``."""
    if args:
        from .formatting import go_quote_list

        raise FlagError(f"unrecognized args: {go_quote_list(args)}")


def zero_or_one(args: list[str]) -> str:
    """juju/cmd ``ZeroOrOneArgs``."""
    if not args:
        return ""
    check_empty(args[1:])
    return args[0]
