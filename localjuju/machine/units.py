"""systemd unit files: parsing, lookup with drop-ins, enablement, time spans and the journal.

``/etc/systemd/system`` and ``/run/systemd/system`` are searched first (in that order of
precedence), then ``/lib/systemd/system`` and ``/usr/lib/systemd/system`` but only for unit
files that belong to a package installed by the machine's ``dpkg`` (listed in its
``/var/lib/dpkg/info/*.list``): the host's own units are visible there inside a machine, belong
to the host and must never be started in a machine.
"""

from __future__ import annotations

import datetime as _dt
import grp
import os
import pwd
import re
import shlex
import signal
import socket
import time
from dataclasses import dataclass, field

from . import mpath

UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system")
DEFAULT_TARGET_DIRS = UNIT_DIRS
# Searched after UNIT_DIRS, for the unit files of the machine's dpkg packages only (as on
# Ubuntu 22.04, /lib/systemd/system comes first: FragmentPath=/lib/systemd/system/etcd.service).
PACKAGE_UNIT_DIRS = ("/lib/systemd/system", "/usr/lib/systemd/system")
DPKG_INFO_DIR = "/var/lib/dpkg/info"
DEFAULT_TIMEOUT = 90.0
DEFAULT_RESTART_SEC = 0.1
DEFAULT_START_LIMIT_INTERVAL = 10.0
DEFAULT_START_LIMIT_BURST = 5
INFINITY = float("inf")
UNIT_TYPES = (".service", ".target", ".socket", ".timer", ".mount", ".path", ".slice")


class UnitError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Names


def unit_name(name: str) -> str:
    """``foo`` -> ``foo.service``; names with a known unit suffix are kept."""
    name = name.strip()
    if not name:
        raise UnitError("Unit name is empty")
    if "/" in name:
        raise UnitError(f"Invalid unit name {name!r}")
    if name.endswith(UNIT_TYPES):
        return name
    return name + ".service"


def split_template(name: str) -> tuple[str, str] | None:
    """``foo@bar.service`` -> (``foo@.service``, ``bar``); None for a non-instance name."""
    base, dot, suffix = name.rpartition(".")
    if "@" not in base or not dot:
        return None
    prefix, _, instance = base.partition("@")
    if not instance:
        return None
    return f"{prefix}@.{suffix}", instance


# ---------------------------------------------------------------------------------------------
# Time spans and timestamps

_TIME_UNITS = {
    "us": 1e-6,
    "usec": 1e-6,
    "ms": 1e-3,
    "msec": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
}


def parse_timespan(value: str, default_unit: float = 1.0) -> float:
    """systemd time span to seconds: ``100ms``, ``5``, ``1min 30s``, ``infinity``."""
    text = value.strip()
    if text in ("infinity", ""):
        return INFINITY
    total = 0.0
    pos = 0
    for m in re.finditer(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([a-z]*)", text):
        if m.start() != pos:
            raise UnitError(f"Invalid time span {value!r}")
        pos = m.end()
        num, unit = float(m.group(1)), m.group(2)
        if unit == "":
            total += num * default_unit
        elif unit in _TIME_UNITS:
            total += num * _TIME_UNITS[unit]
        else:
            raise UnitError(f"Invalid time unit in {value!r}")
    if pos != len(text) or pos == 0:
        raise UnitError(f"Invalid time span {value!r}")
    return total


def format_timespan(seconds: float) -> str:
    """As systemd shows spans: ``100ms``, ``1min 30s``, ``infinity``."""
    if seconds == INFINITY:
        return "infinity"
    usec = int(round(seconds * 1e6))
    if usec == 0:
        return "0"
    parts = []
    for name, size in (
        ("d", 86400_000_000),
        ("h", 3600_000_000),
        ("min", 60_000_000),
        ("s", 1_000_000),
        ("ms", 1000),
        ("us", 1),
    ):
        if usec >= size:
            n, usec = divmod(usec, size)
            parts.append(f"{n}{name}")
    return " ".join(parts)


def format_timestamp(ts: float | None) -> str:
    """``Fri 2025-11-21 16:19:00 UTC`` (local time zone), or empty for no time."""
    if not ts:
        return ""
    return time.strftime("%a %Y-%m-%d %H:%M:%S %Z", time.localtime(ts))


def format_ago(ts: float, now: float | None = None) -> str:
    """``3s ago``, ``1min 5s ago`` (as in ``systemctl status``)."""
    delta = max(0.0, (now or time.time()) - ts)
    if delta < 1:
        return f"{int(delta * 1000)}ms ago"
    units = (("month", 2629800), ("w", 604800), ("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    parts = []
    rest = int(delta)
    for name, size in units:
        if rest >= size:
            n, rest = divmod(rest, size)
            parts.append(f"{n}{name}")
        if len(parts) == 2:
            break
    return " ".join(parts) + " ago"


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_ini(text: str, source: str = "<unit>") -> list[tuple[str, str, str]]:
    """``[(section, key, value)]`` in file order (continuation lines joined, comments dropped)."""
    items: list[tuple[str, str, str]] = []
    section = ""
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if pending:
            stripped = line.strip()
            if stripped.startswith(("#", ";")):
                continue
            line = pending + " " + stripped
            pending = ""
        else:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        key, eq, value = line.partition("=")
        if not eq:
            continue  # systemd ignores (and logs) lines without '='
        items.append((section, key.strip(), value.strip()))
    if pending:
        key, eq, value = pending.partition("=")
        if eq:
            items.append((section, key.strip(), value.strip()))
    return items


def _unquote_words(value: str) -> list[str]:
    lexer = shlex.shlex(value, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    lexer.escape = "\\"
    try:
        return list(lexer)
    except ValueError as e:
        raise UnitError(f"Invalid quoting in {value!r}: {e}") from e


@dataclass
class Command:
    """One ``Exec*=`` line."""

    argv: list[str]
    raw: str
    ignore_failure: bool = False
    argv0: str | None = None
    expand_env: bool = True
    privileged: bool = False  # '+' or '!': User= and Group= do not apply

    @property
    def path(self) -> str:
        return self.argv[0]


def parse_command(value: str) -> Command:
    raw = value
    ignore = False
    argv0_override = False
    expand = True
    privileged = False
    while value and value[0] in "-@+!:":
        c = value[0]
        if c == "-":
            ignore = True
        elif c == "@":
            argv0_override = True
        elif c == ":":
            expand = False
        else:
            privileged = True
        value = value[1:]
    words = _unquote_words(value)
    if not words:
        raise UnitError(f"Empty command line in {raw!r}")
    argv0 = None
    if argv0_override:
        if len(words) < 2:
            raise UnitError(f"'@' needs an argv[0] in {raw!r}")
        path, argv0 = words[0], words[1]
        words = [path] + words[2:]
    return Command(words, raw, ignore, argv0, expand, privileged)


def parse_environment(value: str) -> list[tuple[str, str]]:
    """``Environment=A=1 "B=two words"`` -> [(A, 1), (B, two words)]."""
    out = []
    for word in _unquote_words(value):
        key, eq, val = word.partition("=")
        if eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            out.append((key, val))
    return out


def parse_env_file(text: str) -> dict[str, str]:
    """An ``EnvironmentFile=``: ``KEY=value`` lines, ``#``/``;`` comments, optional quotes."""
    env: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, eq, val = line.partition("=")
        key = key.strip()
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            continue
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
            val = val[1:-1]
            if raw.strip().partition("=")[2].strip().startswith('"'):
                val = re.sub(r"\\(.)", r"\1", val)
        env[key] = val
    return env


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand_argv(argv: list[str], env: dict[str, str]) -> list[str]:
    """systemd's expansion: a lone ``$VAR`` word splits on whitespace, ``${VAR}`` does not."""
    out = [argv[0]]
    for word in argv[1:]:
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if m:
            out.extend(env.get(m.group(1), "").split())
            continue
        out.append(_VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), word))
    return out


def parse_signal(value: str) -> int:
    text = value.strip().upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    try:
        return int(signal.Signals[text])
    except KeyError:
        raise UnitError(f"Unknown signal {value!r}") from None


def parse_bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "yes", "true", "on", "y", "t"):
        return True
    if v in ("0", "no", "false", "off", "n", "f"):
        return False
    raise UnitError(f"Invalid boolean {value!r}")


def parse_rlimit(value: str) -> tuple[int, int]:
    import resource

    def one(v: str) -> int:
        v = v.strip()
        return resource.RLIM_INFINITY if v == "infinity" else int(v)

    soft, colon, hard = value.partition(":")
    if colon:
        return one(soft), one(hard)
    return one(soft), one(soft)


# ---------------------------------------------------------------------------------------------
# Unit configuration

RESTART_VALUES = ("no", "always", "on-success", "on-failure", "on-abnormal", "on-abort")
SERVICE_TYPES = ("simple", "exec", "forking", "oneshot", "notify", "idle", "dbus")
KILL_MODES = ("control-group", "process", "mixed", "none")


@dataclass
class UnitConfig:
    name: str
    load_state: str = "loaded"  # loaded | not-found | masked | bad-setting
    load_error: str = ""
    fragment: str = ""  # machine path of the unit file
    dropins: list[str] = field(default_factory=list)
    signature: tuple[tuple[str, float], ...] = ()
    description: str = ""
    after: list[str] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    wants: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    start_limit_interval: float = DEFAULT_START_LIMIT_INTERVAL
    start_limit_burst: int = DEFAULT_START_LIMIT_BURST
    type: str = "simple"
    exec_start_pre: list[Command] = field(default_factory=list)
    exec_start: list[Command] = field(default_factory=list)
    exec_start_post: list[Command] = field(default_factory=list)
    exec_stop: list[Command] = field(default_factory=list)
    exec_stop_post: list[Command] = field(default_factory=list)
    exec_reload: list[Command] = field(default_factory=list)
    environment: list[tuple[str, str]] = field(default_factory=list)
    environment_files: list[tuple[str, bool]] = field(default_factory=list)  # (path, optional)
    working_directory: str = ""
    working_directory_optional: bool = False
    user: str = ""
    group: str = ""
    permissions_start_only: bool = False
    restart: str = "no"
    restart_sec: float = DEFAULT_RESTART_SEC
    timeout_start: float | None = None
    timeout_stop: float = DEFAULT_TIMEOUT
    kill_mode: str = "control-group"
    kill_signal: int = int(signal.SIGTERM)
    send_sigkill: bool = True
    remain_after_exit: bool = False
    pid_file: str = ""
    limit_nofile: tuple[int, int] | None = None
    syslog_identifier: str = ""
    success_exit_status: list[int] = field(default_factory=list)
    wanted_by: list[str] = field(default_factory=list)
    required_by: list[str] = field(default_factory=list)
    alias: list[str] = field(default_factory=list)
    has_install: bool = False
    unknown: list[str] = field(default_factory=list)
    # [Timer] (a .timer unit; see localjuju.machine.timers)
    timer_monotonic: list[tuple[str, float]] = field(default_factory=list)  # (base, seconds)
    timer_calendar: list[str] = field(default_factory=list)  # normalized OnCalendar= values
    timer_unit: str = ""
    persistent: bool = False
    accuracy_sec: float = 60.0
    randomized_delay_sec: float = 0.0
    remain_after_elapse: bool = True
    on_clock_change: bool = False
    on_timezone_change: bool = False
    wake_system: bool = False

    @property
    def effective_timeout_start(self) -> float:
        if self.timeout_start is not None:
            return self.timeout_start
        return INFINITY if self.type == "oneshot" else DEFAULT_TIMEOUT


def packaged_unit_names() -> set[str]:
    """Names of the unit files that packages of the machine's dpkg install in
    :data:`PACKAGE_UNIT_DIRS` (from ``/var/lib/dpkg/info/*.list``)."""
    names: set[str] = set()
    info = mpath(DPKG_INFO_DIR)
    try:
        entries = os.listdir(info)
    except OSError:
        return names
    prefixes = tuple(d + "/" for d in PACKAGE_UNIT_DIRS)
    for e in entries:
        if not e.endswith(".list"):
            continue
        try:
            with open(os.path.join(info, e), encoding="utf-8", errors="replace") as f:
                for line in f:
                    if not line.startswith(prefixes):
                        continue
                    rest = line.rstrip("\n").split("/systemd/system/", 1)[1]
                    if "/" not in rest and rest.endswith(UNIT_TYPES):
                        names.add(rest)
        except OSError:
            continue
    return names


def _packaged_path(name: str, packaged: set[str] | None = None) -> str | None:
    if name not in (packaged if packaged is not None else packaged_unit_names()):
        return None
    for d in PACKAGE_UNIT_DIRS:
        p = f"{d}/{name}"
        if os.path.isfile(mpath(p)):
            return p
    return None


def unit_file_paths(name: str) -> tuple[str | None, str | None]:
    """(machine path of the unit file or None, template name used or None)."""
    candidates: list[tuple[str, str | None]] = [(name, None)]
    tmpl = split_template(name)
    if tmpl:
        candidates.append((tmpl[0], tmpl[0]))
    packaged: set[str] | None = None
    for cand, template in candidates:
        for d in UNIT_DIRS:
            p = f"{d}/{cand}"
            if os.path.lexists(mpath(p)):
                return p, template
        if packaged is None:
            packaged = packaged_unit_names()
        p2 = _packaged_path(cand, packaged)
        if p2:
            return p2, template
    return None, None


def canonical_name(name: str) -> str:
    """The unit an alias name stands for: ``etcd2.service`` -> ``etcd.service`` when
    ``/etc/systemd/system/etcd2.service`` links to a unit file named ``etcd.service``."""
    for d in UNIT_DIRS:
        real = mpath(f"{d}/{name}")
        if os.path.islink(real):
            target = os.readlink(real)
            base = os.path.basename(target)
            if target != "/dev/null" and base != name and base.endswith(UNIT_TYPES):
                return base
            return name
        if os.path.lexists(real):
            return name
    return name


def lookup_group(group: str) -> int | None:
    """The GID of ``group`` (a name or a number) in the machine's ``/etc/group`` (the host's
    group database when the machine root has none)."""
    if group.isdigit():
        return int(group)
    path = mpath("/etc/group")
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                p = line.split(":")
                if len(p) >= 3 and p[0] == group and p[2].isdigit():
                    return int(p[2])
        return None
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        return None


def lookup_user(user: str) -> tuple[int, int, str, str] | None:
    """(uid, gid, home, shell) of ``user`` (a name or a number) in the machine's
    ``/etc/passwd`` (the host's user database when the machine root has none)."""
    path = mpath("/etc/passwd")
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                p = line.rstrip("\n").split(":")
                if len(p) >= 7 and (p[0] == user or (user.isdigit() and p[2] == user)):
                    return int(p[2]), int(p[3]), p[5], p[6]
        if user.isdigit():
            return int(user), int(user), "/", "/bin/sh"
        return None
    try:
        pw = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except (KeyError, ValueError):
        if user.isdigit():
            return int(user), int(user), "/", "/bin/sh"
        return None
    return pw.pw_uid, pw.pw_gid, pw.pw_dir, pw.pw_shell


def is_masked(name: str) -> bool:
    for d in UNIT_DIRS:
        p = mpath(f"{d}/{name}")
        if os.path.islink(p) and os.readlink(p) == "/dev/null":
            return True
    return False


def conf_files(dirs: list[str], by_name: dict[str, str] | None = None) -> dict[str, str]:
    """systemd's conf_files_list: ``*.conf`` file name -> machine path over ``dirs``, the first
    directory winning for a name found in several; ``by_name`` holds what lower-priority
    places already gave (it is updated and returned)."""
    found = {} if by_name is None else by_name
    for d in reversed(dirs):
        try:
            entries = os.listdir(mpath(d))
        except OSError:
            continue
        for e in entries:
            if e.endswith(".conf"):
                found[e] = f"{d}/{e}"
    return found


def dropin_paths(name: str, template: str | None = None) -> list[str]:
    """Drop-ins ``<dir>/<unit>.d/*.conf`` of all unit dirs, ordered by file name (the first
    unit dir wins for a name present in several)."""
    names = [name] + ([template] if template else [])
    by_name = conf_files([f"{d}/{n}.d" for d in UNIT_DIRS for n in names])
    return [by_name[k] for k in sorted(by_name)]


def _signature(paths: list[str]) -> tuple[tuple[str, float], ...]:
    sig = []
    for p in paths:
        try:
            sig.append((p, os.stat(mpath(p)).st_mtime))
        except OSError:
            sig.append((p, -1.0))
    return tuple(sig)


def current_signature(name: str) -> tuple[tuple[str, float], ...]:
    path, template = unit_file_paths(name)
    if path is None:
        return ()
    return _signature([path] + dropin_paths(name, template))


def _specifiers(name: str) -> dict[str, str]:
    base = name.rpartition(".")[0]
    prefix, _, instance = base.partition("@")
    host = socket.gethostname()
    return {
        "n": name,
        "N": base,
        "p": prefix,
        "i": instance,
        "I": instance,
        "t": "/run",
        "h": "/root",
        "u": "root",
        "H": host,
        "l": host.split(".", 1)[0],
        "%": "%",
    }


def _expand_specifiers(value: str, spec: dict[str, str]) -> str:
    return re.sub(r"%(.)", lambda m: spec.get(m.group(1), m.group(0)), value)


def load_unit_config(name: str) -> UnitConfig:
    """Read a unit's file and drop-ins. Never raises: problems show in ``load_state``."""
    cfg = UnitConfig(name=name)
    if is_masked(name):
        cfg.load_state = "masked"
        cfg.fragment = next(
            (f"{d}/{name}" for d in UNIT_DIRS if os.path.islink(mpath(f"{d}/{name}"))), ""
        )
        return cfg
    path, template = unit_file_paths(name)
    if path is None:
        cfg.load_state = "not-found"
        cfg.load_error = f"Unit {name} not found."
        return cfg
    cfg.fragment = path
    cfg.dropins = dropin_paths(name, template)
    cfg.signature = _signature([path] + cfg.dropins)
    spec = _specifiers(name)
    items: list[tuple[str, str, str]] = []
    try:
        for p in [path] + cfg.dropins:
            with open(mpath(p), encoding="utf-8") as f:
                items.extend(parse_ini(f.read(), p))
    except OSError as e:
        cfg.load_state = "not-found"
        cfg.load_error = f"Failed to read {path}: {e.strerror}"
        return cfg
    try:
        _apply(cfg, items, spec)
    except UnitError as e:
        cfg.load_state = "bad-setting"
        cfg.load_error = str(e)
    return cfg


def _apply(cfg: UnitConfig, items: list[tuple[str, str, str]], spec: dict[str, str]) -> None:
    lists = {
        "ExecStartPre": cfg.exec_start_pre,
        "ExecStart": cfg.exec_start,
        "ExecStartPost": cfg.exec_start_post,
        "ExecStop": cfg.exec_stop,
        "ExecStopPost": cfg.exec_stop_post,
        "ExecReload": cfg.exec_reload,
    }
    for section, key, value in items:
        value = _expand_specifiers(value, spec)
        if section == "Unit":
            if key == "Description":
                cfg.description = value
            elif key in ("After", "Before", "Wants", "Requires"):
                target = getattr(cfg, key.lower())
                if value == "":
                    target.clear()
                else:
                    target.extend(value.split())
            elif key in ("StartLimitIntervalSec", "StartLimitInterval"):
                cfg.start_limit_interval = parse_timespan(value)
            elif key == "StartLimitBurst":
                cfg.start_limit_burst = int(value)
        elif section == "Service":
            if key in lists:
                if value == "":
                    lists[key].clear()
                else:
                    lists[key].append(parse_command(value))
            elif key == "Type":
                if value not in SERVICE_TYPES:
                    raise UnitError(f"Failed to parse service type, ignoring: {value}")
                cfg.type = value
            elif key == "Environment":
                if value == "":
                    cfg.environment.clear()
                else:
                    cfg.environment.extend(parse_environment(value))
            elif key == "EnvironmentFile":
                if value == "":
                    cfg.environment_files.clear()
                else:
                    optional = value.startswith("-")
                    cfg.environment_files.append((value.lstrip("-"), optional))
            elif key == "WorkingDirectory":
                cfg.working_directory_optional = value.startswith("-")
                cfg.working_directory = value.lstrip("-")
            elif key == "User":
                cfg.user = value
            elif key == "Group":
                cfg.group = value
            elif key == "PermissionsStartOnly":
                cfg.permissions_start_only = parse_bool(value)
            elif key == "Restart":
                if value not in RESTART_VALUES:
                    raise UnitError(f"Failed to parse service restart specifier: {value}")
                cfg.restart = value
            elif key == "RestartSec":
                cfg.restart_sec = parse_timespan(value)
            elif key == "TimeoutStartSec":
                cfg.timeout_start = parse_timespan(value)
            elif key == "TimeoutStopSec":
                cfg.timeout_stop = parse_timespan(value)
            elif key == "TimeoutSec":
                cfg.timeout_start = cfg.timeout_stop = parse_timespan(value)
            elif key == "KillMode":
                if value not in KILL_MODES:
                    raise UnitError(f"Failed to parse kill mode: {value}")
                cfg.kill_mode = value
            elif key == "KillSignal":
                cfg.kill_signal = parse_signal(value)
            elif key == "SendSIGKILL":
                cfg.send_sigkill = parse_bool(value)
            elif key == "RemainAfterExit":
                cfg.remain_after_exit = parse_bool(value)
            elif key == "PIDFile":
                cfg.pid_file = value
            elif key == "LimitNOFILE":
                cfg.limit_nofile = parse_rlimit(value)
            elif key == "SyslogIdentifier":
                cfg.syslog_identifier = value
            elif key == "SuccessExitStatus":
                for word in value.split():
                    if word.isdigit():
                        cfg.success_exit_status.append(int(word))
                    else:
                        cfg.success_exit_status.append(-parse_signal(word))
            else:
                cfg.unknown.append(f"{section}.{key}")
        elif section == "Timer" and cfg.name.endswith(".timer"):
            _apply_timer(cfg, key, value)
        elif section == "Install":
            cfg.has_install = True
            if key == "WantedBy":
                cfg.wanted_by.extend(value.split())
            elif key == "RequiredBy":
                cfg.required_by.extend(value.split())
            elif key == "Alias":
                cfg.alias.extend(value.split())
    if cfg.name.endswith(".timer"):
        if not cfg.timer_monotonic and not cfg.timer_calendar:
            raise UnitError(f"{cfg.name}: Timer unit lacks value setting. Refusing.")
        if not cfg.timer_unit:
            cfg.timer_unit = cfg.name[: -len(".timer")] + ".service"
        if not cfg.description:
            cfg.description = cfg.name
        return
    if not cfg.name.endswith(".service"):
        if not cfg.description:
            cfg.description = cfg.name
        return
    if cfg.type != "oneshot" and len(cfg.exec_start) > 1:
        raise UnitError(
            f"{cfg.name} has more than one ExecStart= setting, which is only allowed for "
            "Type=oneshot services. Refusing."
        )
    if not cfg.exec_start and cfg.type != "oneshot":
        raise UnitError(f"{cfg.name} has no ExecStart= setting. Refusing.")
    if not cfg.description:
        cfg.description = cfg.name


TIMER_BASES = {
    "OnActiveSec": "OnActiveUSec",
    "OnBootSec": "OnBootUSec",
    "OnStartupSec": "OnStartupUSec",
    "OnUnitActiveSec": "OnUnitActiveUSec",
    "OnUnitInactiveSec": "OnUnitInactiveUSec",
}


def _apply_timer(cfg: UnitConfig, key: str, value: str) -> None:
    """One ``[Timer]`` setting, as systemd 249's load-fragment.c reads it (an empty value
    resets the list of triggers; an invalid one makes the unit a bad setting here, where
    systemd logs and ignores the line: a stand-in must not run a timer it misread)."""
    from . import calendar as C

    if key in TIMER_BASES:
        if value == "":
            cfg.timer_monotonic.clear()
            cfg.timer_calendar.clear()
            return
        cfg.timer_monotonic.append((TIMER_BASES[key], parse_timespan(value)))
    elif key == "OnCalendar":
        if value == "":
            cfg.timer_monotonic.clear()
            cfg.timer_calendar.clear()
            return
        try:
            cfg.timer_calendar.append(C.to_string(C.parse(value)))
        except C.CalendarError as e:
            raise UnitError(
                f"Failed to parse calendar specification, ignoring: {value} ({e})"
            ) from None
    elif key == "Unit":
        cfg.timer_unit = unit_name(value)
    elif key == "Persistent":
        cfg.persistent = parse_bool(value)
    elif key == "AccuracySec":
        cfg.accuracy_sec = parse_timespan(value)
    elif key == "RandomizedDelaySec":
        cfg.randomized_delay_sec = parse_timespan(value)
    elif key == "RemainAfterElapse":
        cfg.remain_after_elapse = parse_bool(value)
    elif key == "OnClockChange":
        cfg.on_clock_change = parse_bool(value)
    elif key == "OnTimezoneChange":
        cfg.on_timezone_change = parse_bool(value)
    elif key == "WakeSystem":
        cfg.wake_system = parse_bool(value)
    else:
        cfg.unknown.append(f"Timer.{key}")


# ---------------------------------------------------------------------------------------------
# Enablement


@dataclass
class Change:
    kind: str  # symlink | unlink
    path: str
    target: str = ""


def _wants_links(name: str) -> list[str]:
    """Machine paths of the symlinks that enable ``name`` (in any ``*.wants``/``*.requires``)."""
    found = []
    for d in UNIT_DIRS:
        try:
            entries = os.listdir(mpath(d))
        except OSError:
            continue
        for e in sorted(entries):
            if e.endswith((".wants", ".requires")):
                p = f"{d}/{e}/{name}"
                if os.path.lexists(mpath(p)):
                    found.append(p)
    return found


def enabled_state(name: str) -> str:
    """``enabled``, ``disabled``, ``static``, ``masked``, ``alias`` or ``not-found``."""
    if is_masked(name):
        return "masked"
    path, _ = unit_file_paths(name)
    if path is None:
        return "not-found"
    if canonical_name(name) != name:
        return "alias"
    if _wants_links(name):
        return "enabled"
    cfg = load_unit_config(name)
    if not cfg.has_install or not (cfg.wanted_by or cfg.required_by or cfg.alias):
        return "static"
    return "disabled"


def enable_unit(name: str) -> list[Change]:
    cfg = load_unit_config(name)
    if cfg.load_state == "masked":
        raise UnitError(f"Unit file {name} is masked.")
    if cfg.load_state == "not-found":
        raise UnitError(f"Unit file {name} does not exist.")
    changes = []
    unit_path = cfg.fragment
    for target in cfg.wanted_by:
        changes += _link(f"/etc/systemd/system/{target}.wants/{name}", unit_path)
    for target in cfg.required_by:
        changes += _link(f"/etc/systemd/system/{target}.requires/{name}", unit_path)
    for alias in cfg.alias:
        changes += _link(f"/etc/systemd/system/{alias}", unit_path)
    return changes


def _link(link: str, target: str) -> list[Change]:
    real = mpath(link)
    if os.path.islink(real) and os.readlink(real) == target:
        return []
    os.makedirs(os.path.dirname(real), exist_ok=True)
    if os.path.lexists(real):
        os.unlink(real)
    os.symlink(target, real)
    return [Change("symlink", link, target)]


def disable_unit(name: str) -> list[Change]:
    path, _ = unit_file_paths(name)
    if path is None and not is_masked(name):
        raise UnitError(f"Unit file {name} does not exist.")
    changes = []
    for link in _wants_links(name):
        if link.startswith("/etc/"):
            os.unlink(mpath(link))
            changes.append(Change("unlink", link))
    if path:
        cfg = load_unit_config(name)
        for alias in cfg.alias:
            p = mpath(f"/etc/systemd/system/{alias}")
            if os.path.islink(p):
                os.unlink(p)
                changes.append(Change("unlink", f"/etc/systemd/system/{alias}"))
    return changes


def mask_unit(name: str) -> list[Change]:
    link = f"/etc/systemd/system/{name}"
    real = mpath(link)
    if os.path.islink(real) and os.readlink(real) == "/dev/null":
        return []
    if os.path.lexists(real) and not os.path.islink(real):
        raise UnitError(f"Cannot mask {name}: unit file {link} exists.")
    return _link(link, "/dev/null")


def unmask_unit(name: str) -> list[Change]:
    link = f"/etc/systemd/system/{name}"
    real = mpath(link)
    if os.path.islink(real) and os.readlink(real) == "/dev/null":
        os.unlink(real)
        return [Change("unlink", link)]
    return []


def enabled_units() -> list[str]:
    """Service and timer units wanted by any target (what boot starts: ``multi-user.target``
    and ``timers.target`` are both reached at boot), in name order."""
    names: set[str] = set()
    for d in UNIT_DIRS:
        try:
            entries = os.listdir(mpath(d))
        except OSError:
            continue
        for e in entries:
            if e.endswith((".target.wants", ".target.requires")):
                try:
                    for u in os.listdir(mpath(f"{d}/{e}")):
                        if u.endswith((".service", ".timer")):
                            names.add(u)
                except OSError:
                    continue
    return sorted(names)


def unit_files() -> list[str]:
    names: set[str] = set()
    for d in UNIT_DIRS:
        try:
            for e in os.listdir(mpath(d)):
                if e.endswith(UNIT_TYPES) and not os.path.isdir(mpath(f"{d}/{e}")):
                    names.add(e)
        except OSError:
            continue
    packaged = packaged_unit_names()
    names.update(n for n in packaged if _packaged_path(n, packaged))
    return sorted(names)


# ---------------------------------------------------------------------------------------------
# The journal: one file per unit, one record per line:
#   <UTC ISO 8601 with microseconds>Z <identifier>[<pid>]: <message>

JOURNAL_DIR = "/var/log/localjuju"
JOURNAL_ROTATE_BYTES = 16 << 20


def journal_file(unit: str) -> str:
    """Machine path of a unit's log (``init`` for the manager's own messages)."""
    return f"{JOURNAL_DIR}/{unit}.log"


def format_record(ts: float, ident: str, pid: int, message: str) -> str:
    stamp = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    message = message.replace("\n", " ")
    return f"{stamp}Z {ident}[{pid}]: {message}\n"


_RECORD = re.compile(r"(\S+)Z (\S*?)\[(\d+)\]: ?(.*)")


@dataclass
class Record:
    ts: float
    ident: str
    pid: int
    message: str
    unit: str = ""


def parse_record(line: str, unit: str = "") -> Record | None:
    m = _RECORD.fullmatch(line.rstrip("\n"))
    if not m:
        return None
    try:
        ts = (
            _dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
            .replace(tzinfo=_dt.timezone.utc)
            .timestamp()
        )
    except ValueError:
        return None
    return Record(ts, m.group(2), int(m.group(3)), m.group(4), unit)


def read_journal(unit: str) -> list[Record]:
    """All records of a unit (rotated file first)."""
    out = []
    base = mpath(journal_file(unit))
    for p in (base + ".1", base):
        try:
            with open(p, encoding="utf-8", errors="replace") as f:
                for line in f:
                    rec = parse_record(line, unit)
                    if rec:
                        out.append(rec)
        except OSError:
            continue
    return out


def journal_units() -> list[str]:
    try:
        entries = os.listdir(mpath(JOURNAL_DIR))
    except OSError:
        return []
    return sorted({e[: -len(".log")] for e in entries if e.endswith(".log")})
