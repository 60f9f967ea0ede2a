"""The Juju 3 hook tools, run against a :class:`~localjuju.hooktools.context.ToolContext`.

Entry point: :func:`run_tool`. Each tool is a :class:`Command` with juju/cmd's life cycle:
``set_flags`` -> option parsing (exit 2 on error) -> ``init(args)`` (exit 2 on error) ->
``run()`` (exit 1 on error, ``ERROR <message>`` on stderr).

File and stdin access go through :class:`Invocation`: in-process (``local_fs=True``) files are
read/written directly; behind the socket (``local_fs=False``) the tool raises
:class:`NeedInput` so that the client, which lives in the unit's machine, reads the file or
stdin and retries, and ``-o`` output is handed back to the client to write.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .context import (
    GoalStateEntry,
    NetworkInfo,
    PortRange,
    RelationInfo,
    StatusInfo,
    ToolContext,
    ToolError,
)
from .formatting import (
    FORMATTERS,
    Field,
    GoStruct,
    NilStringList,
    StringList,
    go_quote,
)
from .gnuflag import (
    BoolValue,
    FlagError,
    FlagSet,
    FuncValue,
    HelpRequested,
    StringValue,
    check_empty,
    render_help,
    zero_or_one,
)

__all__ = ["ToolResult", "NeedInput", "Invocation", "run_tool", "TOOL_NAMES", "ACTION_TOOLS"]


@dataclass
class ToolResult:
    """Exit code and output of one tool call.

    ``output_file`` is set (server mode only) when ``-o FILE`` was used: the client must write
    ``data`` to the absolute ``path`` (errors: ``ERROR open <path>: <reason>``, exit 1).
    """

    code: int
    stdout: bytes = b""
    stderr: bytes = b""
    output_file: tuple[str, bytes] | None = None


class NeedInput(Exception):
    """Server mode: the tool needs stdin and/or files read on the client side; retry with them."""

    def __init__(self, stdin: bool = False, files: tuple[str, ...] = ()) -> None:
        super().__init__("hook tool requires input")
        self.stdin = stdin
        self.files = files


@dataclass
class Invocation:
    """One tool call: the context and the I/O around it."""

    ctx: ToolContext
    cwd: str
    stdin: bytes | None = None
    files: Mapping[str, bytes | str] = field(default_factory=dict)
    local_fs: bool = True
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    output_file: tuple[str, bytes] | None = None

    def abs_path(self, path: str) -> str:
        if path.startswith("~/"):
            path = os.path.join(os.path.expanduser("~"), path[2:])
        return path if os.path.isabs(path) else os.path.join(self.cwd, path)

    def read_stdin(self) -> bytes:
        if self.stdin is None:
            raise NeedInput(stdin=True)
        return self.stdin

    def read_file(self, path: str) -> bytes:
        abspath = self.abs_path(path)
        if self.local_fs:
            try:
                with open(abspath, "rb") as f:
                    return f.read()
            except OSError as e:
                raise ToolError(f"open {abspath}: {os_error_text(e)}") from None
        if abspath not in self.files:
            raise NeedInput(files=(abspath,))
        content = self.files[abspath]
        if isinstance(content, str):
            raise ToolError(content)
        return content

    def write_output(self, path: str, data: bytes) -> None:
        abspath = self.abs_path(path)
        if not self.local_fs:
            self.output_file = (abspath, data)
            return
        try:
            with open(abspath, "wb") as f:
                f.write(data)
        except OSError as e:
            raise ToolError(f"open {abspath}: {os_error_text(e)}") from None


def os_error_text(e: OSError) -> str:
    """Go's text for a syscall error (strerror with a lower-case first letter)."""
    text = e.strerror or str(e)
    return text[:1].lower() + text[1:]


# --------------------------------------------------------------------------------------------
# helpers shared by the tools
# --------------------------------------------------------------------------------------------

_UNIT_RE = re.compile(r"^([a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*)/(0|[1-9][0-9]*)$")
_APP_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*$")
_STORAGE_RE = re.compile(r"^([a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*)/(0|[1-9][0-9]*)$")
_ACTION_KEY_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


def app_of(unit: str) -> str:
    return unit.split("/", 1)[0]


def go_atoi(text: str) -> int:
    """Go ``strconv.Atoi`` (raises ValueError with Go's message)."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f"strconv.Atoi: parsing {go_quote(text)}: invalid syntax")
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"strconv.Atoi: parsing {go_quote(text)}: value out of range")
    return value


def parse_key_values(args: list[str], allow_empty: bool = True) -> dict[str, str]:
    """juju/utils ``keyvalues.Parse``."""
    result: dict[str, str] = {}
    for kv in args:
        if kv == "":
            continue
        if "=" not in kv:
            raise FlagError(f'expected "key=value", got {go_quote(kv)}')
        key, value = kv.split("=", 1)
        key, value = key.strip(), value.strip()
        if not key or (not allow_empty and not value):
            raise FlagError(f'expected "key=value", got "{key}={value}"')
        if key in result:
            raise FlagError(f"key {go_quote(key)} specified more than once")
        result[key] = value
    return result


_YAML_NULLS = {"", "~", "null", "Null", "NULL"}


def read_settings_yaml(data: bytes) -> dict[str, str]:
    """yaml.v2 ``Unmarshal(data, map[string]string)``: scalars keep their source text, plain
    nulls become ``""`` (= delete)."""
    try:
        node = yaml.compose(data.decode("utf-8", errors="replace"), Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise ToolError(f"yaml: {line}{problem}") from None
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        short = node.tag.replace("tag:yaml.org,2002:", "!!")
        value = node.value if isinstance(node, yaml.ScalarNode) else ""
        raise ToolError(
            "yaml: unmarshal errors:\n"
            f"  line {node.start_mark.line + 1}: cannot unmarshal {short} `{value}` into "
            "map[string]string"
        )
    result: dict[str, str] = {}
    errors: list[str] = []
    for knode, vnode in node.value:
        key = _scalar_text(knode)
        if key is None:
            errors.append(f"  line {knode.start_mark.line + 1}: cannot unmarshal into string")
            continue
        if isinstance(vnode, yaml.ScalarNode):
            result[key] = _scalar_text(vnode) or ""
        else:
            kind = "!!map" if isinstance(vnode, yaml.MappingNode) else "!!seq"
            errors.append(
                f"  line {vnode.start_mark.line + 1}: cannot unmarshal {kind} into string"
            )
    if errors:
        raise ToolError("yaml: unmarshal errors:\n" + "\n".join(errors))
    return result


def _scalar_text(node: yaml.Node) -> str | None:
    if not isinstance(node, yaml.ScalarNode):
        return None
    if node.style is None and node.value in _YAML_NULLS:
        return ""
    return str(node.value)


def format_since(since: datetime.datetime | str | None) -> str:
    if since is None:
        return ""
    if isinstance(since, str):
        try:  # the controller keeps ISO 8601 strings; Juju prints 2006-01-02 15:04:05Z
            parsed = datetime.datetime.fromisoformat(since)
        except ValueError:
            return since
        since = parsed
    if since.tzinfo is not None:
        since = since.astimezone(datetime.timezone.utc)
    return since.strftime("%Y-%m-%d %H:%M:%SZ")


# --------------------------------------------------------------------------------------------
# the command framework (juju/cmd)
# --------------------------------------------------------------------------------------------


class Output:
    """juju/cmd ``Output``: ``--format`` and ``-o``/``--output``."""

    def __init__(self) -> None:
        self.format = "smart"
        self.path = StringValue("")
        self._choices: tuple[str, ...] = ()

    def add_flags(self, fs: FlagSet, default: str, choices: tuple[str, ...]) -> None:
        self.format = default
        self._choices = choices

        def setter(value: str) -> None:
            if value not in self._choices:
                raise ValueError(f"unknown format {go_quote(value)}")
            self.format = value

        doc = "Specify output format (" + "|".join(sorted(choices)) + ")"
        fs.var(FuncValue(setter, lambda: self.format), "format", doc)
        fs.string("o", "", "Specify an output file", value=self.path)
        fs.string("output", "", "", value=self.path)

    def write(self, inv: Invocation, value: Any) -> None:
        data = FORMATTERS[self.format](value)
        if self.path.value:
            inv.write_output(self.path.value, data)
        else:
            inv.stdout += data


DEFAULT_FORMATS = ("json", "smart", "yaml")


class Command:
    """A hook tool (juju/cmd ``Command``)."""

    name = ""
    args_doc = ""
    purpose = ""
    doc = ""
    examples = ""

    def __init__(self, inv: Invocation) -> None:
        self.inv = inv
        self.ctx = inv.ctx

    def set_flags(self, fs: FlagSet) -> None:
        pass

    def init(self, args: list[str]) -> None:
        check_empty(args)

    def run(self) -> None:
        pass

    def help_doc(self) -> str:
        return self.doc


def main(cmd: Command, args: list[str]) -> int:
    """juju/cmd ``Main``."""
    inv = cmd.inv
    fs = FlagSet()
    cmd.set_flags(fs)
    try:
        fs.parse(args, allow_intersperse=True)
        cmd.init(fs.args)
    except HelpRequested:
        inv.stdout += render_help(
            cmd.name, cmd.args_doc, cmd.purpose, cmd.help_doc(), cmd.examples, fs
        ).encode()
        return 0
    except (FlagError, ToolError) as e:
        inv.stderr += f"ERROR {e}\n".encode()
        return 2
    try:
        cmd.run()
    except ToolError as e:
        inv.stderr += f"ERROR {e.message}\n".encode()
        return e.code
    return 0


def _not_leader_check(ctx: ToolContext, annotation: str) -> bool:
    try:
        return ctx.is_leader()
    except ToolError as e:
        raise ToolError(f"{annotation}: {e.message}") from None


class RelationIdOption:
    """``-r``/``--relation``: ``name:id`` or ``id``, defaulting to the hook's relation."""

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx
        self.id = -1
        self.text = ""
        rid = ctx.hook_relation_id
        if rid is not None:
            rel = ctx.relation(rid)
            if rel is not None:
                self.id = rid
                self.text = rel.fake_id

    def set(self, value: str) -> None:
        trim = value[value.rfind(":") + 1 :]
        try:
            rid = go_atoi(trim)
        except ValueError:
            raise ValueError("invalid relation id") from None
        if self.ctx.relation(rid) is None:
            raise ValueError("relation not found")
        self.id = rid
        self.text = value

    def add_flags(self, fs: FlagSet, usage: str = "Specify a relation by id") -> None:
        value = FuncValue(self.set, lambda: self.text)
        fs.var(value, "r", usage)
        fs.var(value, "relation", "")

    def relation(self) -> RelationInfo:
        rel = self.ctx.relation(self.id)
        if rel is None:
            raise ToolError("relation not found")
        return rel


class FileOption:
    """juju/cmd ``FileVar`` with ``-`` meaning stdin."""

    def __init__(self) -> None:
        self.path = ""

    def add_flags(self, fs: FlagSet, name: str, usage: str) -> None:
        fs.var(FuncValue(self._set, lambda: self.path), name, usage)

    def _set(self, value: str) -> None:
        self.path = value

    def read(self, inv: Invocation) -> bytes:
        if self.path == "-":
            return inv.read_stdin()
        return inv.read_file(self.path)


# --------------------------------------------------------------------------------------------
# relation tools
# --------------------------------------------------------------------------------------------


class RelationGet(Command):
    name = "relation-get"
    purpose = "Get relation settings."
    examples = """
    # Getting the settings of the default unit in the default relation is done with:
    $ relation-get
    username: jim
    password: "12345"

    # To get a specific setting from the default remote unit in the default relation
    $ relation-get username
    jim

    # To get all settings from a particular remote unit in a particular relation you
    $ relation-get -r database:7 - mongodb/5
    username: bob
    password: 2db673e81ffa264c
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.rel = RelationIdOption(self.ctx)
        self.out = Output()
        self.app = BoolValue()
        self.key = ""
        self.target = ""
        self.args_doc = "[<key> [<unit id>]]" if self.ctx.remote_unit else "<key> <unit id>"

    def help_doc(self) -> str:
        doc = (
            "relation-get prints the value of a unit's relation setting, specified by key.\n"
            'If no key is given, or if the key is "-", all keys and values will be printed.\n\n'
            'A unit can see its own settings by calling "relation-get - MYUNIT"; this includes\n'
            'changes made earlier in the hook with "relation-set". With --app, the settings\n'
            "of an application bucket are printed.\n"
        )
        if self.ctx.remote_unit:
            doc += f"Current default unit id is {go_quote(self.ctx.remote_unit)}."
        return doc

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)
        self.rel.add_flags(fs)
        fs.bool(
            "app",
            "Get the relation data for the overall application, not just a unit",
            value=self.app,
        )

    def init(self, args: list[str]) -> None:
        if self.rel.id == -1:
            raise FlagError("no relation id specified")
        if args:
            self.key = "" if args[0] == "-" else args[0]
            args = args[1:]
        if args:
            supplied, args = args[0], args[1:]
            if self.app.value:
                if _APP_RE.match(supplied):
                    self.target = supplied
                elif _UNIT_RE.match(supplied):
                    self.target = app_of(supplied)
            else:
                if not _UNIT_RE.match(supplied):
                    if _APP_RE.match(supplied):
                        raise FlagError(
                            f"expected unit name, got application name {go_quote(supplied)}"
                        )
                    raise FlagError(f"invalid unit name {go_quote(supplied)}")
                self.target = supplied
        elif self.app.value:
            if not self.ctx.remote_app:
                raise FlagError("no unit or application specified")
            self.target = self.ctx.remote_app
        elif self.ctx.remote_unit:
            self.target = self.ctx.remote_unit
        elif self.ctx.remote_app:
            self.target = self.ctx.remote_app
            self.app.value = True
        else:
            raise FlagError("no unit or application specified")
        check_empty(args)

    def run(self) -> None:
        rel = self.rel.relation()
        local_unit = self.ctx.unit_name
        local_app = app_of(local_unit)
        settings: Mapping[str, str]
        if not self.app.value:
            if self.target != local_unit and app_of(self.target) not in (
                local_app,
                rel.remote_app,
            ):
                raise ToolError("permission denied")
            settings = self.ctx.relation_unit_settings(rel.id, self.target)
        else:
            if self.target == local_app:
                leader = _not_leader_check(self.ctx, "cannot determine leadership status")
                if not leader and not rel.is_peer:
                    raise ToolError("permission denied")
            elif self.target != rel.remote_app:
                raise ToolError("permission denied")
            settings = self.ctx.relation_app_settings(rel.id, self.target)
        if self.key == "":
            self.out.write(self.inv, dict(settings))
        else:
            self.out.write(self.inv, settings.get(self.key))


class RelationSet(Command):
    name = "relation-set"
    args_doc = "key=value [key=value ...]"
    purpose = "set relation settings"
    doc = """
"relation-set" writes the local unit's settings for some relation. If no relation is
specified then the current relation is used. The setting values are not inspected and are
stored as strings. Setting an empty string causes the setting to be removed. Duplicate
settings are not allowed.

If the unit is the leader, it can set the application settings using "--app". These are
visible to related applications via 'relation-get --app' or by supplying the application
name to 'relation-get' in place of a unit name.

The --file option should be used when one or more key-value pairs are too long to fit within
the command length limit of the shell or operating system. The file will contain a YAML map
containing the settings. Settings in the file will be overridden by any duplicate key-value
arguments. A value of "-" for the filename means <stdin>.
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.rel = RelationIdOption(self.ctx)
        self.file = FileOption()
        self.app = BoolValue()
        self.format_flag = StringValue("")
        self.settings: dict[str, str] = {}

    def set_flags(self, fs: FlagSet) -> None:
        self.rel.add_flags(fs, "specify a relation by id")
        self.file.add_flags(fs, "file", "file containing key-value pairs")
        fs.bool(
            "app",
            'pick whether you are setting "application" settings or "unit" settings',
            value=self.app,
        )
        fs.string("format", "", "deprecated format flag", value=self.format_flag)

    def init(self, args: list[str]) -> None:
        if self.rel.id == -1:
            raise FlagError("no relation id specified")
        self.settings = parse_key_values(args, True)

    def run(self) -> None:
        if self.format_flag.value:
            self.inv.stderr += (
                f"--format flag deprecated for command {go_quote(self.name)}".encode()
            )
        settings = self.settings
        if self.file.path:
            settings = read_settings_yaml(self.file.read(self.inv))
            settings.update(self.settings)
        rel = self.rel.relation()
        if self.app.value:
            if not _not_leader_check(self.ctx, "cannot determine leadership status"):
                raise ToolError("cannot write relation settings")
        self.ctx.update_relation_settings(rel.id, settings, self.app.value)


class RelationIds(Command):
    name = "relation-ids"
    purpose = "list all relation ids for the given endpoint"

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()
        self.endpoint = ""
        rid = self.ctx.hook_relation_id
        rel = self.ctx.relation(rid) if rid is not None else None
        if rel is not None:
            self.endpoint = rel.endpoint
        self.args_doc = "[<name>]" if rel is not None else "<name>"

    def help_doc(self) -> str:
        # Juju 3: "Current default endpoint name is %q." (in a relation hook) + the note.
        doc = (
            f"Current default endpoint name is {go_quote(self.endpoint)}." if self.endpoint else ""
        )
        return doc + "\nOnly relation ids for relations which are not broken are included."

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)

    def init(self, args: list[str]) -> None:
        if args:
            self.endpoint = args[0]
            args = args[1:]
        elif not self.endpoint:
            # Juju 3.x wording (Juju 2 said "no relation name specified").
            raise FlagError("no endpoint name specified")
        check_empty(args)

    def run(self) -> None:
        result = StringList()
        for rid in self.ctx.relation_ids():
            rel = self.ctx.relation(rid)
            if rel is not None and rel.endpoint == self.endpoint:
                result.append(rel.fake_id)
        result.sort(key=lambda s: s.encode())
        self.out.write(self.inv, result)


class RelationList(Command):
    name = "relation-list"
    purpose = "list relation units"

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.rel = RelationIdOption(self.ctx)
        self.out = Output()
        self.app = BoolValue()

    def help_doc(self) -> str:
        return (
            ""
            if self.ctx.hook_relation_id is not None
            else ("-r must be specified when not in a relation hook")
        )

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)
        self.rel.add_flags(fs)
        fs.bool("app", "List remote application instead of participating units", value=self.app)

    def init(self, args: list[str]) -> None:
        if self.rel.id == -1:
            raise FlagError("no relation id specified")
        check_empty(args)

    def run(self) -> None:
        rel = self.rel.relation()
        if self.app.value:
            self.out.write(self.inv, rel.remote_app)
            return
        self.out.write(self.inv, StringList(sorted(rel.members, key=lambda s: s.encode())))


class RelationModelGet(Command):
    name = "relation-model-get"
    purpose = "Get details about the model hosting a related application."

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.rel = RelationIdOption(self.ctx)
        self.out = Output()

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)
        self.rel.add_flags(fs)

    def init(self, args: list[str]) -> None:
        if self.rel.id == -1:
            raise FlagError("no relation id specified")
        check_empty(args)

    def run(self) -> None:
        self.rel.relation()
        self.out.write(self.inv, GoStruct(Field("uuid", "uuid", self.ctx.model_uuid)))


# --------------------------------------------------------------------------------------------
# config, leadership
# --------------------------------------------------------------------------------------------


class ConfigGet(Command):
    name = "config-get"
    args_doc = "[<key>]"
    purpose = "Print application configuration."
    doc = """
config-get returns information about the application configuration (as defined by
config.yaml). If called without arguments, it returns a dictionary containing all config
settings that are either explicitly set, or which have a non-nil default value. If the --all
flag is passed, it returns a dictionary containing all defined config settings including nil
values (for those without defaults). If called with a single argument, it returns the value
of that config key. Missing config keys are reported as nulls, and do not return an error.

<key> and --all are mutually exclusive.
"""
    examples = """
    INTERVAL=$(config-get interval)

    config-get --all
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()
        self.all = BoolValue()
        self.key = ""

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)
        fs.bool("a", "print all keys", value=self.all)
        fs.bool("all", "", value=self.all)

    def init(self, args: list[str]) -> None:
        if not args:
            return
        self.key = args[0]
        if self.key and self.all.value:
            raise FlagError(f"cannot use argument --all together with key {go_quote(self.key)}")
        check_empty(args[1:])

    def run(self) -> None:
        settings = dict(self.ctx.config())
        if self.key == "":
            if not self.all.value:
                settings = {k: v for k, v in settings.items() if v is not None}
            self.out.write(self.inv, settings)
        else:
            self.out.write(self.inv, settings.get(self.key))


class LeaderGet(Command):
    name = "leader-get"
    args_doc = "[<key>]"
    purpose = "print application leadership settings"
    doc = """
leader-get prints the value of a leadership setting specified by key. If no key is given, or
if the key is "-", all keys and values will be printed.
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()
        self.key = ""

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)

    def init(self, args: list[str]) -> None:
        if not args:
            return
        key = args[0]
        if key == "-":
            key = ""
        elif "=" in key:
            raise FlagError(f"invalid key {go_quote(key)}")
        self.key = key
        check_empty(args[1:])

    def run(self) -> None:
        try:
            settings = dict(self.ctx.leader_settings())
        except ToolError as e:
            raise ToolError(f"cannot read leadership settings: {e.message}") from None
        if self.key == "":
            self.out.write(self.inv, settings)
        else:
            self.out.write(self.inv, settings.get(self.key))


class LeaderSet(Command):
    name = "leader-set"
    args_doc = "<key>=<value> [...]"
    purpose = "Write application leadership settings."
    doc = """
leader-set immediately writes the supplied key/value pairs to the controller, which will then
inform non-leader units of the change. It will fail if called by a unit that is not currently
application leader. An empty value removes the key.
"""
    examples = """
    leader-set cluster-leader-address=10.0.0.123
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.settings: dict[str, str] = {}

    def init(self, args: list[str]) -> None:
        self.settings = parse_key_values(args, True)

    def run(self) -> None:
        prefix = "cannot write leadership settings"
        if not _not_leader_check(self.ctx, prefix):
            raise ToolError(f"{prefix}: cannot write settings: not the leader")
        try:
            self.ctx.write_leader_settings(self.settings)
        except ToolError as e:
            raise ToolError(f"{prefix}: {e.message}") from None


class IsLeader(Command):
    name = "is-leader"
    purpose = "Print application leadership status."
    doc = """
is-leader prints a boolean indicating whether the local unit is guaranteed to be application
leader for at least 30 seconds. If it fails, you should assume that there is no such
guarantee.
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)

    def run(self) -> None:
        leader = _not_leader_check(self.ctx, "leadership status unknown")
        self.out.write(self.inv, bool(leader))


# --------------------------------------------------------------------------------------------
# status, version
# --------------------------------------------------------------------------------------------

VALID_STATUS = ("maintenance", "blocked", "waiting", "active")
NOT_LEADER = "this unit is not the leader"


class StatusSet(Command):
    name = "status-set"
    args_doc = "<maintenance | blocked | waiting | active> [message]"
    purpose = "set status information"
    doc = """
Sets the workload status of the charm. Message is optional.
The "last updated" attribute of the status is set, even if the
status and message are the same as what's already set.
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.application = BoolValue()
        self.status = ""
        self.message = ""

    def set_flags(self, fs: FlagSet) -> None:
        fs.bool(
            "application",
            "set this status for the application to which the unit belongs if the unit is "
            "the leader",
            value=self.application,
        )

    def init(self, args: list[str]) -> None:
        if not args:
            raise FlagError("invalid args, require <status> [message]")
        if args[0] not in VALID_STATUS:
            raise FlagError(
                f"invalid status {go_quote(args[0])}, expected one of "
                f"[{' '.join(VALID_STATUS)}]"
            )
        self.status = args[0]
        if len(args) > 1:
            self.message = args[1]
            check_empty(args[2:])

    def run(self) -> None:
        if self.application.value:
            if not _not_leader_check(self.ctx, "cannot determine leadership"):
                raise ToolError(NOT_LEADER)
            self.ctx.set_application_status(self.status, self.message)
        else:
            self.ctx.set_unit_status(self.status, self.message)


def _status_details(info: StatusInfo, include_data: bool) -> dict[str, Any]:
    details: dict[str, Any] = {"status": info.status}
    if include_data:
        details["status-data"] = dict(info.data)
        details["message"] = info.message
    return details


class StatusGet(Command):
    name = "status-get"
    args_doc = "[--include-data] [--application]"
    purpose = "Print status information."
    doc = """
By default, only the status value is printed.
If the --include-data flag is passed, the associated data are printed also.

Include the --application option to get the overall status for the application, rather than
an individual unit.
"""
    examples = """
    # Access the unit's status:
    status-get
    status-get --include-data

    # Access the application's status:
    status-get --application
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()
        self.include_data = BoolValue()
        self.application = BoolValue()

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)
        fs.bool("include-data", "print all status data", value=self.include_data)
        fs.bool(
            "application",
            "print status for all units of this application if this unit is the leader",
            value=self.application,
        )

    def run(self) -> None:
        include = self.include_data.value
        if self.application.value:
            if not _not_leader_check(self.ctx, "finding application status"):
                raise ToolError(f"finding application status: {NOT_LEADER}")
            app_status = self.ctx.application_status()
            if not include and self.out.format == "smart":
                self.out.write(self.inv, app_status.application.status)
                return
            details = _status_details(app_status.application, include)
            details["units"] = {u.tag: _status_details(u, include) for u in app_status.units}
            self.out.write(self.inv, {"application-status": details})
            return
        unit_status = self.ctx.unit_status()
        if not include and self.out.format == "smart":
            self.out.write(self.inv, unit_status.status)
            return
        self.out.write(self.inv, _status_details(unit_status, include))


class ApplicationVersionSet(Command):
    name = "application-version-set"
    args_doc = "<new-version>"
    purpose = "specify which version of the application is deployed"
    doc = """
application-version-set tells Juju which version of the application software is running.
This could be a package version number or some other useful identifier, such as a Git hash,
that indicates the version of the deployed software. (It shouldn't be confused with the
charm revision.) The version set will be displayed in "juju status" output for the
application.
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.version = ""

    def init(self, args: list[str]) -> None:
        if not args:
            raise FlagError("no version specified")
        self.version = args[0]
        check_empty(args[1:])

    def run(self) -> None:
        self.ctx.set_workload_version(self.version)


# --------------------------------------------------------------------------------------------
# actions
# --------------------------------------------------------------------------------------------

NOT_IN_ACTION = "not running an action"
RESERVED_ACTION_KEYS = ("stdout", "stdout-encoding", "stderr", "stderr-encoding")


class ActionGet(Command):
    name = "action-get"
    args_doc = "[<key>[.<key>.<key>...]]"
    purpose = "Get action parameters."
    doc = """
action-get will print the value of the parameter at the given key, serialized as YAML. If
multiple keys are passed, action-get will recurse into the param map as needed.
"""
    examples = """
    TIMEOUT=$(action-get timeout)
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()
        self.keys: list[str] = []

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)

    def init(self, args: list[str]) -> None:
        if args:
            check_empty(args[1:])
            self.keys = args[0].split(".")

    def run(self) -> None:
        params = self.ctx.action_params()
        if params is None:
            raise ToolError(NOT_IN_ACTION)
        if not self.keys:
            self.out.write(self.inv, dict(params))
            return
        answer: Any = params
        for key in self.keys:
            if not isinstance(answer, Mapping) or key not in answer:
                answer = None
                break
            answer = answer[key]
        self.out.write(self.inv, answer)


class ActionSet(Command):
    name = "action-set"
    args_doc = "<key>=<value> [<key>=<value> ...]"
    purpose = "Set action results."
    doc = (
        "action-set adds the given values to the results map of the Action. This map is\n"
        "returned to the user after the completion of the Action. Keys must start and end\n"
        "with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and\n"
        "periods. The following special keys are reserved for internal use:\n"
        + ", ".join(f'"{k}"' for k in RESERVED_ACTION_KEYS)
        + "."
    )
    examples = """
    action-set outfile.size=10G
    action-set foo.bar=2
    action-set foo.baz.val=3
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.pairs: list[tuple[list[str], str]] = []

    def init(self, args: list[str]) -> None:
        for arg in args:
            if "=" not in arg:
                raise FlagError(f"argument {go_quote(arg)} must be of the form key...=value")
            keypath, value = arg.split("=", 1)
            keys = keypath.split(".")
            for key in keys:
                if not _ACTION_KEY_RE.match(key):
                    raise FlagError(
                        f"key {go_quote(key)} must start and end with lowercase alphanumeric, "
                        "and contain only lowercase alphanumeric, hyphens and periods"
                    )
                if key in RESERVED_ACTION_KEYS:
                    raise FlagError(f'cannot set reserved action key "{key}"')
            self.pairs.append((keys, value))

    def run(self) -> None:
        for keys, value in self.pairs:
            if self.ctx.action_params() is None:
                raise ToolError(NOT_IN_ACTION)
            self.ctx.action_set_result(keys, value)


class ActionFail(Command):
    name = "action-fail"
    args_doc = '["<failure message>"]'
    purpose = "Set action fail status with message."
    doc = """
action-fail sets the fail state of the action with a given error message. Using action-fail
without a failure message will set a default message indicating a problem with the action.
"""
    examples = """
    action-fail 'unable to contact remote service'
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.message = "action failed without reason given, check action for errors"

    def init(self, args: list[str]) -> None:
        if args:
            self.message = args[0]
            check_empty(args[1:])

    def run(self) -> None:
        if self.ctx.action_params() is None:
            raise ToolError(NOT_IN_ACTION)
        self.ctx.action_fail(self.message)


class ActionLog(Command):
    name = "action-log"
    args_doc = "<message>"
    purpose = "record a progress message for the current action"

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.message = ""

    def init(self, args: list[str]) -> None:
        if not args:
            raise FlagError("no message specified")
        self.message = " ".join(args)

    def run(self) -> None:
        if self.ctx.action_params() is None:
            raise ToolError(NOT_IN_ACTION)
        self.ctx.action_log(self.message)


# --------------------------------------------------------------------------------------------
# ports
# --------------------------------------------------------------------------------------------


def parse_port_range(text: str) -> PortRange:
    """Juju ``network.ParsePortRange`` including ``Validate``."""
    protocol = "tcp"
    if "/" in text:
        text, protocol = text.split("/", 1)
    parts = text.split("-")
    if len(parts) > 2:
        raise FlagError(f"invalid port range {go_quote(text)}")
    try:
        if len(parts) == 1:
            if parts[0] == "icmp":
                start = end = -1
            else:
                try:
                    start = end = go_atoi(parts[0])
                except ValueError as e:
                    raise FlagError(f"invalid port {go_quote(text)}: {e}") from None
        else:
            try:
                start = go_atoi(parts[0])
            except ValueError as e:
                raise FlagError(f"invalid port {go_quote(parts[0])}: {e}") from None
            try:
                end = go_atoi(parts[1])
            except ValueError as e:
                raise FlagError(f"invalid port {go_quote(parts[1])}: {e}") from None
    except FlagError:
        raise
    if start == -1:
        protocol = "icmp"
    pr = PortRange(protocol, start, end)
    proto = protocol.lower()
    if proto not in ("tcp", "udp", "icmp"):
        raise FlagError(f'invalid protocol {go_quote(proto)}, expected "tcp", "udp", or "icmp"')
    if proto == "icmp":
        if start == end == -1:
            return pr
        raise FlagError(f'protocol "icmp" doesn\'t support any ports; got "{start}"')
    if start > end:
        raise FlagError(f"invalid port range {pr}")
    if not (0 <= start <= 65535 and 0 <= end <= 65535):
        raise FlagError(f"port range bounds must be between 0 and 65535, got {start}-{end}")
    return pr


class _PortCommand(Command):
    args_doc = "<port>[/<protocol>] or <from>-<to>[/<protocol>] or icmp"

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.format_flag = StringValue("")
        self.endpoints = StringValue("")
        self.port_range = PortRange("tcp", 0, 0)

    def set_flags(self, fs: FlagSet) -> None:
        fs.string("format", "", "deprecated format flag", value=self.format_flag)
        fs.string(
            "endpoints",
            "",
            "a comma-delimited list of application endpoints to target with this operation",
            value=self.endpoints,
        )

    def init(self, args: list[str]) -> None:
        if not args:
            raise FlagError("no port or range specified")
        self.port_range = parse_port_range(args[0].lower())
        check_empty(args[1:])

    def apply(self, endpoint: str, port_range: PortRange) -> None:
        raise NotImplementedError

    def run(self) -> None:
        if self.format_flag.value:
            self.inv.stderr += (
                f"--format flag deprecated for command {go_quote(self.name)}".encode()
            )
        if not self.endpoints.value:
            self.apply("", self.port_range)
            return
        for endpoint in self.endpoints.value.split(","):
            self.apply(endpoint.strip(), self.port_range)


class OpenPort(_PortCommand):
    name = "open-port"
    purpose = "Register a request to open a port or port range."
    doc = """
open-port registers a request to open the specified port or port range.

By default, the specified port or port range will be opened for all defined application
endpoints. The --endpoints option can be used to constrain the open request to a
comma-delimited list of application endpoints. This operation is transactional, so changes
will not be made unless the hook exits successfully.
"""
    examples = """
    # Open port 80 to TCP traffic:
    open-port 80/tcp

    # Open a range of ports to UDP traffic:
    open-port 1000-2000/udp
"""

    def apply(self, endpoint: str, port_range: PortRange) -> None:
        self.ctx.open_port_range(endpoint, port_range)


class ClosePort(_PortCommand):
    name = "close-port"
    purpose = "Register a request to close a port or port range."
    doc = """
close-port registers a request to close the specified port or port range.

By default, the specified port or port range will be closed for all defined application
endpoints. The --endpoints option can be used to constrain the close request to a
comma-delimited list of application endpoints.
"""
    examples = """
    # Close single port
    close-port 80

    # Close a range of ports
    close-port 9000-9999/udp
"""

    def apply(self, endpoint: str, port_range: PortRange) -> None:
        self.ctx.close_port_range(endpoint, port_range)


class OpenedPorts(Command):
    name = "opened-ports"
    purpose = "List all ports or port ranges opened by the unit."
    doc = """
opened-ports lists all ports or port ranges opened by a unit.

Each list entry is formatted as <port>/<protocol> (e.g. "80/tcp") or <from>-<to>/<protocol>
(e.g. "8080-8088/udp"). With --endpoints each entry is followed by the endpoints it applies
to (e.g. "80/tcp (endpoint1, endpoint2)"), or "(*)" for all endpoints.

Opening ports is transactional, therefore opened-ports will not return any values for
pending open-port operations run from within the same hook.
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()
        self.show_endpoints = BoolValue()

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)
        fs.bool(
            "endpoints",
            "display the list of target application endpoints for each port range",
            value=self.show_endpoints,
        )

    def run(self) -> None:
        grouped = self.ctx.opened_port_ranges()
        by_range: dict[PortRange, set[str]] = {}
        for endpoint, ranges in grouped.items():
            for pr in ranges:
                by_range.setdefault(pr, set()).add(endpoint)
        ordered = sorted(by_range)
        if not self.show_endpoints.value:
            self.out.write(self.inv, StringList(str(pr) for pr in ordered))
            return
        result = StringList()
        for pr in ordered:
            eps = by_range[pr]
            descr = "*" if "" in eps else ", ".join(sorted(eps))
            result.append(f"{pr} ({descr})")
        self.out.write(self.inv, result)


# --------------------------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------------------------


class UnitGet(Command):
    name = "unit-get"
    args_doc = "<setting>"
    purpose = "Print public-address or private-address."

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()
        self.key = ""

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)

    def init(self, args: list[str]) -> None:
        if not args:
            raise FlagError("no setting specified")
        if args[0] not in ("private-address", "public-address"):
            raise FlagError(f"unknown setting {go_quote(args[0])}")
        self.key = args[0]
        check_empty(args[1:])

    def run(self) -> None:
        if self.key == "public-address":
            self.out.write(self.inv, self.ctx.public_address())
            return
        value = ""
        try:
            info = self.ctx.network_info("", None)
        except ToolError:
            info = None
        if info is not None and info.interfaces and info.interfaces[0].addresses:
            addr = info.interfaces[0].addresses[0]
            value = addr.hostname or addr.value
        else:
            value = self.ctx.private_address()
        self.out.write(self.inv, value)


def _network_display(ni: NetworkInfo) -> GoStruct:
    interfaces = []
    for iface in ni.interfaces:
        addresses = [
            GoStruct(
                Field("hostname", "hostname", a.hostname),
                Field("value", "value", a.value),
                Field("cidr", "cidr", a.cidr),
                Field("address", None, a.value),
            )
            for a in iface.addresses
        ]
        interfaces.append(
            GoStruct(
                Field("mac-address", "mac-address", iface.mac_address),
                Field("interface-name", "interface-name", iface.interface_name),
                Field("addresses", "addresses", addresses),
                Field("macaddress", None, iface.mac_address),
                Field("interfacename", None, iface.interface_name),
            )
        )
    return GoStruct(
        Field("bind-addresses", "bind-addresses", interfaces, omitempty=True),
        Field("egress-subnets", "egress-subnets", list(ni.egress_subnets), omitempty=True),
        Field(
            "ingress-addresses", "ingress-addresses", list(ni.ingress_addresses), omitempty=True
        ),
    )


class NetworkGet(Command):
    name = "network-get"
    args_doc = "<binding-name> [--ingress-address] [--bind-address] [--egress-subnets]"
    purpose = "get network config"
    doc = """
network-get returns the network config for a given binding name. By default it returns the
list of interfaces and associated addresses in the space for the binding, as well as the
ingress address for the binding. If defined, any egress subnets are also returned.
If one of the following flags are specified, just that value is returned.
If more than one flag is specified, a map of values is returned.
    --bind-address: the address the local unit should listen on to serve connections, as
                    well as the address that should be advertised to its peers.
    --ingress-address: the address the local unit should advertise as being used for
                    incoming connections.
    --egress-subnets: subnets (in CIDR notation) from which traffic on this relation will
                    originate.
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()
        self.rel = RelationIdOption(self.ctx)
        self.primary = BoolValue()
        self.bind = BoolValue()
        self.ingress = BoolValue()
        self.egress = BoolValue()
        self.binding = ""
        self.keys: list[str] = []

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)
        fs.bool(
            "primary-address",
            "(deprecated) get the primary address for the binding",
            value=self.primary,
        )
        fs.bool(
            "bind-address",
            "get the address for the binding on which the unit should listen",
            value=self.bind,
        )
        fs.bool("ingress-address", "get the ingress address for the binding", value=self.ingress)
        fs.bool("egress-subnets", "get the egress subnets for the binding", value=self.egress)
        self.rel.add_flags(fs, "specify a relation by id")

    def init(self, args: list[str]) -> None:
        if not args:
            raise FlagError("no arguments specified")
        self.binding = args[0]
        if not self.binding:
            raise FlagError("no binding name specified")
        if self.bind.value:
            self.keys.append("bind-address")
        if self.ingress.value:
            self.keys.append("ingress-address")
        if self.egress.value:
            self.keys.append("egress-subnets")
        check_empty(args[1:])

    def run(self) -> None:
        rid = self.rel.id if self.rel.id != -1 else None
        ni = self.ctx.network_info(self.binding, rid)
        if ni is None or not ni.interfaces:
            raise ToolError(f"no network config found for binding {go_quote(self.binding)}")
        if not self.primary.value and not self.keys:
            self.out.write(self.inv, _network_display(ni))
            return
        first = ni.interfaces[0].addresses
        no_addr = f"no addresses attached to space for binding {go_quote(self.binding)}"
        if self.primary.value:
            if self.keys:
                raise ToolError("--primary-address must be the only flag specified")
            if not first:
                raise ToolError(no_addr)
            self.out.write(self.inv, first[0].value)
            return
        values: dict[str, Any] = {}
        if self.egress.value:
            # The API's egress-subnets is omitempty: no subnets decode to a nil []string,
            # which prints nothing (smart), [] (yaml) or null (json).
            egress = ni.egress_subnets
            values["egress-subnets"] = StringList(egress) if egress else NilStringList()
        if self.ingress.value:
            if ni.ingress_addresses:
                values["ingress-address"] = ni.ingress_addresses[0]
            elif first:
                values["ingress-address"] = first[0].value
            else:
                raise ToolError(no_addr)
        if self.bind.value:
            if not first:
                raise ToolError(no_addr)
            values["bind-address"] = first[0].value
        if len(self.keys) == 1:
            self.out.write(self.inv, values[self.keys[0]])
        else:
            self.out.write(self.inv, values)


# --------------------------------------------------------------------------------------------
# logging
# --------------------------------------------------------------------------------------------

_LOG_LEVELS = {
    "TRACE": "TRACE",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARN": "WARNING",
    "WARNING": "WARNING",
    "ERROR": "ERROR",
    "CRITICAL": "CRITICAL",
    "UNSPECIFIED": "",
}


class JujuLog(Command):
    name = "juju-log"
    args_doc = "<message>"
    purpose = "write a message to the juju log"

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.debug = BoolValue()
        self.level = StringValue("INFO")
        self.format_flag = StringValue("")
        self.message = ""

    def set_flags(self, fs: FlagSet) -> None:
        fs.bool("debug", "log at debug level", value=self.debug)
        fs.string("l", "INFO", "Send log message at the given level", value=self.level)
        fs.string("log-level", "INFO", "", value=self.level)
        fs.string("format", "", "deprecated format flag", value=self.format_flag)

    def init(self, args: list[str]) -> None:
        if not args:
            raise FlagError("no message specified")
        self.message = " ".join(args)

    def run(self) -> None:
        if self.format_flag.value:
            self.inv.stderr += (
                f"--format flag deprecated for command {go_quote(self.name)}".encode()
            )
        level = "INFO"
        if self.debug.value:
            level = "DEBUG"
        elif self.level.value:
            parsed = _LOG_LEVELS.get(self.level.value.upper())
            if parsed is None:
                self.ctx.log(
                    "WARNING", f"Specified log level of {go_quote(self.level.value)} is not valid"
                )
                level = "INFO"
            else:
                level = parsed
        if not level:
            return
        prefix = ""
        rid = self.ctx.hook_relation_id
        if rid is not None:
            rel = self.ctx.relation(rid)
            if rel is not None:
                prefix = rel.fake_id + ": "
        self.ctx.log(level, prefix + self.message)


# --------------------------------------------------------------------------------------------
# storage, resources
# --------------------------------------------------------------------------------------------


class StorageIdOption:
    """``-s``: a storage instance id, defaulting to the storage hook's."""

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx
        self.id = ctx.hook_storage_id or ""

    def set(self, value: str) -> None:
        if not _STORAGE_RE.match(value):
            raise ValueError(f"invalid storage ID {go_quote(value)}")
        if self.ctx.storage(value) is None:
            raise ValueError(f"storage attachment {go_quote(value)} not found")
        self.id = value


class StorageGet(Command):
    name = "storage-get"
    args_doc = "[<key>]"
    purpose = "Print information for the storage instance with the specified ID."
    doc = """
When no <key> is supplied, all keys values are printed.

storage-get obtains information about storage being attached to, or detaching from, the
unit. If the executing hook is a storage hook, information about the storage related to the
hook will be reported; this may be overridden by specifying the name of the storage as
reported by storage-list, and must be specified for non-storage hooks.
"""
    examples = """
    # retrieve information by name
    storage-get -s data/0
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()
        self.storage_id = StorageIdOption(self.ctx)
        self.key = ""

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)
        fs.var(
            FuncValue(self.storage_id.set, lambda: self.storage_id.id),
            "s",
            "specify a storage instance by id",
        )

    def init(self, args: list[str]) -> None:
        if not self.storage_id.id:
            raise FlagError("no storage instance specified")
        self.key = zero_or_one(args)

    def run(self) -> None:
        info = self.ctx.storage(self.storage_id.id)
        if info is None:
            raise ToolError(f"storage attachment {go_quote(self.storage_id.id)} not found")
        values = {"kind": info.kind, "location": info.location}
        if not self.key:
            self.out.write(self.inv, values)
        elif self.key in values:
            self.out.write(self.inv, values[self.key])
        else:
            raise ToolError(f"invalid storage attribute {go_quote(self.key)}")


class StorageList(Command):
    name = "storage-list"
    args_doc = "[<storage-name>]"
    purpose = "List storage attached to the unit."
    doc = """
storage-list will list the names of all storage instances attached to the unit. These names
can be passed to storage-get via the "-s" flag to query the storage attributes.

A storage name may be specified, in which case only storage instances for that named
storage will be returned.
"""
    examples = """
    storage-list pgdata
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()
        self.storage_name = ""

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)

    def init(self, args: list[str]) -> None:
        self.storage_name = zero_or_one(args)

    def run(self) -> None:
        ids = StringList()
        for sid in self.ctx.storage_ids():
            if self.storage_name and sid.split("/", 1)[0] != self.storage_name:
                continue
            ids.append(sid)
        self.out.write(self.inv, ids)


class StorageAdd(Command):
    name = "storage-add"
    args_doc = "<charm storage name>[=count] ..."
    purpose = "Add storage instances."
    doc = """
Storage add adds storage instances to unit using provided storage constraints. A storage
constraint consists of a storage name as per charm specification and optional storage
COUNT. COUNT is a positive integer indicating how many instances of the storage to create.
If unspecified, COUNT defaults to 1.
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.constraints: dict[str, int] = {}

    def init(self, args: list[str]) -> None:
        if not args:
            raise FlagError("storage add requires a storage constraint")
        for arg in args:
            name, _, count_text = arg.partition("=")
            if not re.fullmatch(r"[a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*", name):
                raise FlagError(f"invalid storage name {go_quote(name)}")
            count = 1
            if count_text:
                if not re.fullmatch(r"[0-9]+", count_text) or int(count_text) < 1:
                    raise FlagError(f"only count can be specified for {go_quote(name)}")
                count = int(count_text)
            if name in self.constraints:
                raise FlagError(f"storage {go_quote(name)} specified more than once")
            self.constraints[name] = count

    def run(self) -> None:
        self.ctx.add_storage(self.constraints)


class ResourceGet(Command):
    name = "resource-get"
    args_doc = "<resource name>"
    purpose = "Get the path to the locally cached resource file."
    doc = """
"resource-get" is used while a hook is running to get the local path to the file for the
identified resource. This file is an fs-local copy, unique to the unit for which the hook is
running. It is downloaded from the controller, if necessary.
"""
    examples = """
    # resource-get software
    /var/lib/juju/agents/unit-resources-example-0/resources/software/software.zip
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.resource = ""

    def init(self, args: list[str]) -> None:
        if not args:
            raise FlagError("missing required resource name")
        check_empty(args[1:])
        self.resource = args[0]

    def run(self) -> None:
        try:
            path = self.ctx.resource_path(self.resource)
        except ToolError as e:
            raise ToolError(f"could not download resource: {e.message}") from None
        self.inv.stdout += path.encode()


# --------------------------------------------------------------------------------------------
# goal state, credentials, reboot, charm state
# --------------------------------------------------------------------------------------------


def _goal_entry(entry: GoalStateEntry) -> GoStruct:
    return GoStruct(
        Field("status", "status", entry.status),
        Field("since", "since", format_since(entry.since), omitempty=True),
    )


class GoalStateCmd(Command):
    name = "goal-state"
    purpose = "print the status of the charm's peers and related units"
    doc = """
'goal-state' command will list the charm units and relations, specifying their status and
their relations to other units in different charms.
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "yaml", ("yaml", "json"))

    def run(self) -> None:
        gs = self.ctx.goal_state()
        units = {name: _goal_entry(e) for name, e in gs.units.items()}
        relations = {
            ep: {name: _goal_entry(e) for name, e in members.items()}
            for ep, members in gs.relations.items()
        }
        self.out.write(
            self.inv,
            GoStruct(Field("units", "units", units), Field("relations", "relations", relations)),
        )


def _cloud_spec_display(spec: Mapping[str, Any]) -> GoStruct:
    """``params.CloudSpec`` as Juju prints it: JSON names with ``omitempty`` in field order;
    YAML has no tags, so yaml.v2 uses the lower-cased Go field names and omits nothing."""
    cred = spec.get("credential")
    credential: GoStruct | None = None
    if isinstance(cred, Mapping):
        credential = GoStruct(
            Field("authtype", "auth-type", str(cred.get("auth-type", ""))),
            Field(
                "attributes",
                "attrs",
                dict(cred.get("attrs") or {}),
                omitempty=True,
                json_only=True,
            ),
            Field(
                "redacted",
                "redacted",
                list(cred.get("redacted") or []),
                omitempty=True,
                json_only=True,
            ),
        )

    def text(key: str) -> str:
        return str(spec.get(key) or "")

    return GoStruct(
        Field("type", "type", text("type")),
        Field("name", "name", text("name")),
        Field("region", "region", text("region"), omitempty=True, json_only=True),
        Field("endpoint", "endpoint", text("endpoint"), omitempty=True, json_only=True),
        Field(
            "identityendpoint",
            "identity-endpoint",
            text("identity-endpoint"),
            omitempty=True,
            json_only=True,
        ),
        Field(
            "storageendpoint",
            "storage-endpoint",
            text("storage-endpoint"),
            omitempty=True,
            json_only=True,
        ),
        Field("credential", "credential", credential, omitempty=True, json_only=True),
        Field(
            "cacertificates",
            "cacertificates",
            list(spec.get("cacertificates") or []),
            omitempty=True,
            json_only=True,
        ),
        Field(
            "skiptlsverify",
            "skip-tls-verify",
            bool(spec.get("skip-tls-verify")),
            omitempty=True,
            json_only=True,
        ),
        Field(
            "iscontrollercloud",
            "is-controller-cloud",
            bool(spec.get("is-controller-cloud")),
            omitempty=True,
            json_only=True,
        ),
    )


class CredentialGet(Command):
    name = "credential-get"
    purpose = "access cloud credentials"
    doc = """
credential-get returns the cloud specification used by the unit's model.
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)

    def run(self) -> None:
        spec = self.ctx.cloud_spec()
        if spec is None:
            raise ToolError("cannot access cloud credentials: permission denied")
        self.out.write(self.inv, _cloud_spec_display(spec))


class JujuReboot(Command):
    name = "juju-reboot"
    purpose = "Reboot the host machine."
    doc = """
juju-reboot causes the host machine to reboot, after stopping all containers hosted on the
machine.

An invocation without arguments will allow the current hook to complete, and will only cause
a reboot if the hook completes successfully.

If the --now flag is passed, the current hook will terminate immediately, and be restarted
from scratch after reboot.

juju-reboot is not supported when running actions.
"""
    examples = """
    # immediately reboot
    juju-reboot --now

    # Reboot after current hook exits
    juju-reboot
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.now = BoolValue()

    def set_flags(self, fs: FlagSet) -> None:
        fs.bool("now", "reboot immediately, killing the invoking process", value=self.now)

    def run(self) -> None:
        if self.ctx.action_params() is not None:
            raise ToolError("juju-reboot is not supported when running an action.")
        self.ctx.request_reboot(self.now.value)


MAX_STATE_KEY = 256
MAX_STATE_VALUE = 64 * 1024


class StateGet(Command):
    name = "state-get"
    args_doc = "[<key>]"
    purpose = "print server-side-state value"
    doc = """
state-get prints the value of the server side state specified by key.
If no key is given, or if the key is "-", all keys and values will be printed.
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.out = Output()
        self.strict = BoolValue()
        self.key = ""

    def set_flags(self, fs: FlagSet) -> None:
        self.out.add_flags(fs, "smart", DEFAULT_FORMATS)
        fs.bool("strict", "Return an error if the requested key does not exist", value=self.strict)

    def init(self, args: list[str]) -> None:
        if args:
            self.key = "" if args[0] == "-" else args[0]
            check_empty(args[1:])

    def run(self) -> None:
        state = dict(self.ctx.charm_state())
        if not self.key:
            self.out.write(self.inv, state)
            return
        if self.key not in state and self.strict.value:
            raise ToolError(f"{go_quote(self.key)} not found")
        self.out.write(self.inv, state.get(self.key, ""))


class StateSet(Command):
    name = "state-set"
    args_doc = "key=value [key=value ...]"
    purpose = "set server-side-state values"
    doc = f"""
state-set sets the value of the server side state specified by key.

The --file option should be used when one or more key-value pairs are too long to fit within
the command length limit of the shell or operating system. The file will contain a YAML map
containing the settings as strings. Settings in the file will be overridden by any duplicate
key-value arguments. A value of "-" for the filename means <stdin>.

The following fixed size limits apply:
- Length of stored keys cannot exceed {MAX_STATE_KEY} bytes.
- Length of stored values cannot exceed {MAX_STATE_VALUE} bytes.
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.file = FileOption()
        self.values: dict[str, str] = {}

    def set_flags(self, fs: FlagSet) -> None:
        self.file.add_flags(fs, "file", "file containing key-value pairs")

    def init(self, args: list[str]) -> None:
        self.values = parse_key_values(args, True)

    def run(self) -> None:
        values = self.values
        if self.file.path:
            values = read_settings_yaml(self.file.read(self.inv))
            values.update(self.values)
        for key, value in values.items():
            if len(key.encode()) > MAX_STATE_KEY:
                raise ToolError(f"max allowed key length ({MAX_STATE_KEY}) exceeded")
            if len(value.encode()) > MAX_STATE_VALUE:
                raise ToolError(f"max allowed value length ({MAX_STATE_VALUE}) exceeded")
        for key, value in values.items():
            self.ctx.set_charm_state(key, value)


class StateDelete(Command):
    name = "state-delete"
    args_doc = "<key>"
    purpose = "delete server-side-state key value pair"
    doc = """
state-delete deletes the value of the server side state specified by key.
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.key = ""

    def init(self, args: list[str]) -> None:
        if args:
            self.key = args[0]
            check_empty(args[1:])

    def run(self) -> None:
        if self.key:
            self.ctx.delete_charm_state(self.key)


# --------------------------------------------------------------------------------------------
# tools this model does not support (argument handling kept; documented gaps)
# --------------------------------------------------------------------------------------------


class AddMetric(Command):
    name = "add-metric"
    args_doc = "key1=value1 [key2=value2 ...]"
    purpose = "Add metrics."
    examples = """
    add-metric metric1=value1 [metric2=value2 …]
"""

    def __init__(self, inv: Invocation) -> None:
        super().__init__(inv)
        self.labels = StringValue("")
        self.metrics: dict[str, str] = {}

    def set_flags(self, fs: FlagSet) -> None:
        fs.string("l", "", "labels to be associated with metric values", value=self.labels)
        fs.string("labels", "", "", value=self.labels)

    def init(self, args: list[str]) -> None:
        if not args:
            raise FlagError("no metrics specified")
        try:
            self.metrics = parse_key_values(args, allow_empty=False)
        except FlagError as e:
            raise FlagError(f"invalid metrics: {e}") from None
        label_args = self.labels.value.split(",") if self.labels.value else []
        if self.metrics:  # Juju parses the labels once per metric
            try:
                parse_key_values(label_args, allow_empty=False)
            except FlagError as e:
                raise FlagError(f"invalid labels: {e}") from None

    def run(self) -> None:
        for key in self.metrics:
            if key.startswith("juju"):
                raise ToolError(f"{key} uses a reserved prefix")
            # Only collect-metrics hooks may add metrics; this model never runs them, so
            # every context answers like Juju's HookContext.AddMetric.
            raise ToolError("cannot record metric: metrics not allowed in this context")


class _Unsupported(Command):
    """A tool whose feature this local model does not implement."""

    reason = ""

    def init(self, args: list[str]) -> None:
        pass

    def run(self) -> None:
        raise ToolError(self.reason)


def _unsupported(name: str, args_doc: str, purpose: str, reason: str) -> type[Command]:
    return type(
        name.replace("-", "_"),
        (_Unsupported,),
        {"name": name, "args_doc": args_doc, "purpose": purpose, "reason": reason},
    )


_SECRETS = "secrets are not supported by this local model"
_PAYLOADS = "payloads are not supported by this local model"
_K8S = "k8s spec is only supported for Kubernetes models"

UNSUPPORTED_TOOLS: dict[str, type[Command]] = {
    name: _unsupported(name, args, purpose, reason)
    for name, args, purpose, reason in [
        ("secret-add", "[key[#base64|#file]=value...]", "Add a new secret.", _SECRETS),
        ("secret-set", "<ID> [key[#base64]=value...]", "Update an existing secret.", _SECRETS),
        ("secret-remove", "<ID>", "Remove an existing secret.", _SECRETS),
        ("secret-get", "<ID> [key[#base64]]", "Get the content of a secret.", _SECRETS),
        ("secret-info-get", "<ID> | --label <label>", "Get a secret's metadata info.", _SECRETS),
        ("secret-grant", "<ID>", "Grant access to a secret.", _SECRETS),
        ("secret-revoke", "<ID>", "Revoke access to a secret.", _SECRETS),
        ("secret-ids", "", "Print secret IDs.", _SECRETS),
        (
            "payload-register",
            "<type> <class> <id> [tags...]",
            "register a charm payload",
            _PAYLOADS,
        ),
        ("payload-unregister", "<class> <id>", "stop tracking a payload", _PAYLOADS),
        (
            "payload-status-set",
            "<class> <id> <status>",
            "update the status of a payload",
            _PAYLOADS,
        ),
        ("k8s-spec-set", "--file <core spec file>", "set k8s spec information", _K8S),
        ("k8s-spec-get", "", "get k8s spec information", _K8S),
        ("k8s-raw-set", "--file <core spec file>", "set k8s raw spec information", _K8S),
        ("k8s-raw-get", "", "get k8s raw spec information", _K8S),
        ("pod-spec-set", "--file <core spec file>", "set k8s spec information", _K8S),
        ("pod-spec-get", "", "get k8s spec information", _K8S),
    ]
}


# --------------------------------------------------------------------------------------------
# registry and entry point
# --------------------------------------------------------------------------------------------

ACTION_TOOLS: dict[str, type[Command]] = {
    "action-get": ActionGet,
    "action-set": ActionSet,
    "action-fail": ActionFail,
    "action-log": ActionLog,
}

HOOK_TOOLS: dict[str, type[Command]] = {
    "relation-get": RelationGet,
    "relation-set": RelationSet,
    "relation-ids": RelationIds,
    "relation-list": RelationList,
    "relation-model-get": RelationModelGet,
    "config-get": ConfigGet,
    "leader-get": LeaderGet,
    "leader-set": LeaderSet,
    "is-leader": IsLeader,
    "status-set": StatusSet,
    "status-get": StatusGet,
    "application-version-set": ApplicationVersionSet,
    "open-port": OpenPort,
    "close-port": ClosePort,
    "opened-ports": OpenedPorts,
    "unit-get": UnitGet,
    "network-get": NetworkGet,
    "juju-log": JujuLog,
    "storage-get": StorageGet,
    "storage-list": StorageList,
    "storage-add": StorageAdd,
    "resource-get": ResourceGet,
    "goal-state": GoalStateCmd,
    "credential-get": CredentialGet,
    "juju-reboot": JujuReboot,
    "state-get": StateGet,
    "state-set": StateSet,
    "state-delete": StateDelete,
    "add-metric": AddMetric,
    **UNSUPPORTED_TOOLS,
}

ALL_TOOLS: dict[str, type[Command]] = {**HOOK_TOOLS, **ACTION_TOOLS}

#: Every tool name, sorted: what ``install_tools`` links to the jujuc client.
TOOL_NAMES: tuple[str, ...] = tuple(sorted(ALL_TOOLS))


def run_tool(
    ctx: ToolContext,
    name: str,
    args: list[str],
    stdin: bytes | None = b"",
    cwd: str = "/",
    *,
    files: Mapping[str, bytes | str] | None = None,
    local_fs: bool = True,
) -> ToolResult:
    """Run hook tool ``name`` with ``args`` against ``ctx``.

    ``stdin=None`` means "not supplied": a tool that needs it raises :class:`NeedInput`.
    With ``local_fs=False`` (the socket server) files named by ``--file`` must be supplied in
    ``files`` (absolute path -> content, or an error message) or :class:`NeedInput` is
    raised, and ``-o`` output is returned in ``ToolResult.output_file``.
    """
    factory: Callable[[Invocation], Command] | None = ALL_TOOLS.get(name)
    if factory is None:
        return ToolResult(1, b"", f"ERROR bad request: unknown hook command: {name}\n".encode())
    inv = Invocation(ctx=ctx, cwd=cwd, stdin=stdin, files=files or {}, local_fs=local_fs)
    code = main(factory(inv), list(args))
    return ToolResult(code, bytes(inv.stdout), bytes(inv.stderr), inv.output_file)
