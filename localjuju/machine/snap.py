"""``snap`` for a local-model machine, backed by the model's local snap store.

Commands: install, refresh, revert, remove, list, info, get, set, unset, connect, disconnect,
connections, services, start, stop, restart, logs, enable, disable, run, version, changes, wait,
find, create-cohort, help.
Output, messages and exit codes follow snapd 2.6x (``error: ...`` on stderr, exit 1).

The layout on the machine is snapd's (see docs/localjuju-snaps.md):

- ``/snap/<name>/<rev>/`` the unpacked snap (``/snap/<name>/current`` -> ``<rev>``);
- ``/var/snap/<name>/<rev>/`` ``$SNAP_DATA`` (``current`` -> ``<rev>``), copied forward on
  refresh; ``/var/snap/<name>/common/`` ``$SNAP_COMMON``;
- ``/root/snap/<name>/<rev>/`` ``$SNAP_USER_DATA`` (``$HOME`` of a strict snap run by root);
- ``/snap/bin/<name>`` and ``/snap/bin/<name>.<app>`` commands;
- ``/etc/systemd/system/snap.<name>.<app>.service`` for daemons (``ExecStart=/usr/bin/snap run``);
- ``/var/lib/snapd/state.json`` what is installed, tracked channels, config, connections.

The store is ``/var/lib/localjuju/store`` on the machine (``$LOCALJUJU_STORE`` overrides).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import pwd
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from .. import store as S
from . import confine as C
from . import mpath, store_dir, store_overlay_dir
from . import systemctl as SC

SNAPD_VERSION = "2.63+localjuju"
RETAIN = 2  # refresh.retain on classic systems
UNIT_DIR = "/etc/systemd/system"
STATE_FILE = "/var/lib/snapd/state.json"
LOCK_FILE = "/var/lib/snapd/state.lock"
SNAPSHOTS = "/var/lib/snapd/snapshots"
ROOT_HOME = "/root"


class SnapError(Exception):
    """Printed as ``error: <message>``, exit status 1."""


class Notice(Exception):
    """Not an error: printed on stderr, exit status 0 (e.g. 'already installed')."""


# ---------------------------------------------------------------------------------------------
# Output helpers


def tabwrite(lines: list[str], minwidth: int, padding: int) -> str:
    """Go's text/tabwriter (left aligned, space padding) for ``\\t``-separated cells."""
    rows = [line.split("\t") for line in lines]
    widths: list[int] = []
    out: list[list[str]] = [[] for _ in rows]

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(rows[this]) - 1:
                this += 1
                continue
            # a block of consecutive lines with a cell in this column
            width = minwidth
            end = this
            while end < line1 and column < len(rows[end]) - 1:
                width = max(width, len(rows[end][column]) + padding)
                end += 1
            widths.append(width)
            fmt(this, end)
            widths.pop()
            this = end
        for i in range(line0, line1):
            if len(out[i]) == 0 and len(rows[i]) - 1 <= column:
                cells = rows[i]
                out[i] = [
                    cells[j].ljust(widths[j]) if j < len(cells) - 1 else cells[j]
                    for j in range(len(cells))
                ]

    fmt(0, len(rows))
    return "".join("".join(cells) + "\n" for cells in out)


def format_amount(amount: int) -> str:
    """snapd's quantity.FormatAmount(amount, -1): ``16.5M``, ``940``, ``5000``."""
    width = 5
    if amount <= 5000:
        return str(amount)
    r = float(amount)
    prefix = ""
    for p in "kMGTPEZY":
        r /= 1000
        prefix = p
        if r < 999.5:
            break
    width -= 1
    digits = 3
    if r < 99.5:
        digits -= 1
        if r < 9.5:
            digits -= 1
            if r < 0.95:
                digits -= 1
    precision = width - digits - 1 if width - digits > 1 else 0
    return f"{r:{width}.{precision}f}{prefix}".strip()


def format_size(size: int) -> str:
    return format_amount(size) + "B"


def human_time(ts: float, now: float | None = None) -> str:
    then = _dt.datetime.fromtimestamp(ts).astimezone()
    nowd = _dt.datetime.fromtimestamp(now or time.time()).astimezone()
    d = (then.date() - nowd.date()).days
    hm = then.strftime("%H:%M %Z")
    if -60 <= d < -1:
        return f"{-d} days ago, at {hm}"
    if d == -1:
        return f"yesterday at {hm}"
    if d == 0:
        return f"today at {hm}"
    if d == 1:
        return f"tomorrow at {hm}"
    if 1 < d <= 60:
        return f"in {d} days, at {hm}"
    return then.strftime("%Y-%m-%d")


def publisher_short(pub: dict[str, Any] | None) -> str:
    if not pub:
        return "-"
    mark = "\u2713" if pub.get("validation") == "verified" else ""
    return f"{pub.get('username', '-')}{mark}"


def publisher_long(pub: dict[str, Any] | None) -> str:
    if not pub:
        return "-"
    mark = "\u2713" if pub.get("validation") == "verified" else ""
    display = pub.get("display-name") or pub.get("username", "-")
    user = pub.get("username", "")
    if display.lower() != user.lower():
        return f"{display} ({user}{mark})"
    return f"{display}{mark}"


# ---------------------------------------------------------------------------------------------
# State


@contextlib.contextmanager
def locked() -> Iterator[None]:
    path = mpath(LOCK_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def load_state() -> dict[str, Any]:
    try:
        with open(mpath(STATE_FILE), encoding="utf-8") as f:
            state = json.load(f)
    except FileNotFoundError:
        state = {}
    except (OSError, ValueError) as e:
        raise SnapError(f"cannot read snapd state {STATE_FILE}: {e}") from e
    state.setdefault("snaps", {})
    state.setdefault("changes", [])
    return state


def save_state(state: dict[str, Any]) -> None:
    path = mpath(STATE_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".state.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def record_change(state: dict[str, Any], summary: str, status: str = "Done") -> None:
    changes = state["changes"]
    now = _dt.datetime.now(_dt.timezone.utc).isoformat()
    cid = str(int(changes[-1]["id"]) + 1) if changes else "1"
    changes.append({"id": cid, "status": status, "spawn": now, "ready": now, "summary": summary})
    del changes[:-50]


# ---------------------------------------------------------------------------------------------
# Installed snaps


@dataclass
class App:
    snap: str
    name: str
    command: str
    daemon: str
    restart_condition: str
    stop_timeout: str

    @property
    def full(self) -> str:
        """``etcd`` for the app named as its snap, else ``etcd.etcdctl`` (snapd's names)."""
        return self.snap if self.name == self.snap else f"{self.snap}.{self.name}"

    @property
    def unit(self) -> str:
        return f"snap.{self.snap}.{self.name}.service"


def apps_of(meta: dict[str, Any]) -> list[App]:
    apps = []
    for name, a in sorted((meta.get("apps") or {}).items()):
        a = a or {}
        apps.append(
            App(
                snap=meta["name"],
                name=name,
                command=str(a.get("command") or ""),
                daemon=str(a.get("daemon") or ""),
                restart_condition=str(a.get("restart-condition") or "on-failure"),
                stop_timeout=str(a.get("stop-timeout") or "30s"),
            )
        )
    return apps


def snap_dir(name: str, rev: str) -> str:
    return f"/snap/{name}/{rev}"


def data_dir(name: str, rev: str) -> str:
    return f"/var/snap/{name}/{rev}"


def common_dir(name: str) -> str:
    return f"/var/snap/{name}/common"


def read_meta(name: str, rev: str) -> dict[str, Any]:
    path = mpath(f"{snap_dir(name, rev)}/meta/snap.yaml")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        raise SnapError(f"cannot read {snap_dir(name, rev)}/meta/snap.yaml: {e}") from e
    return data if isinstance(data, dict) else {}


def user_home() -> str:
    """The calling user's home (a machine path): root's is /root."""
    if os.geteuid() == 0:
        return ROOT_HOME
    try:
        return pwd.getpwuid(os.geteuid()).pw_dir
    except KeyError:
        return ROOT_HOME


def app_environment(meta: dict[str, Any], rev: str, app: App, home: str) -> dict[str, str]:
    """The environment snapd gives a strictly confined app (real paths)."""
    name = meta["name"]
    user_data = f"{home}/snap/{name}/{rev}"
    return {
        "SNAP": mpath(snap_dir(name, rev)),
        "SNAP_COMMON": mpath(common_dir(name)),
        "SNAP_DATA": mpath(data_dir(name, rev)),
        "SNAP_NAME": name,
        "SNAP_INSTANCE_NAME": name,
        "SNAP_INSTANCE_KEY": "",
        "SNAP_VERSION": str(meta.get("version", "")),
        "SNAP_REVISION": rev,
        "SNAP_ARCH": S.host_architecture(),
        "SNAP_LIBRARY_PATH": "/var/lib/snapd/lib/gl:/var/lib/snapd/lib/gl32",
        "SNAP_REEXEC": "",
        "SNAP_UID": str(os.getuid()),
        "SNAP_EUID": str(os.geteuid()),
        "SNAP_APP_NAME": app.name,
        "SNAP_USER_COMMON": mpath(f"{home}/snap/{name}/common"),
        "SNAP_USER_DATA": mpath(user_data),
        "SNAP_REAL_HOME": mpath(home),
        "HOME": mpath(user_data),
        "XDG_RUNTIME_DIR": mpath(f"/run/user/{os.geteuid()}/snap.{name}"),
    }


def app_argv(meta: dict[str, Any], rev: str, app: App, env: dict[str, str]) -> list[str]:
    words = app.command.split()
    if not words:
        raise SnapError(f"snap {meta['name']!r} app {app.name!r} has no command")

    def expand(w: str) -> str:
        return re.sub(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", lambda m: env.get(m.group(1), m.group(0)), w)

    words = [expand(w) for w in words]
    exe = words[0]
    if not exe.startswith("/"):
        exe = f"{env['SNAP']}/{exe}"
    return [exe] + words[1:]


#: every call of a snap's command appends the command's name here (a machine's /run)
RUN_LOG = "/run/localjuju/snap-run.log"


def wrapper_script(meta: dict[str, Any], rev: str, app: App) -> str:
    """``/snap/bin/<app>``: exports the app's environment and execs it (what ``snap run``
    does, without starting Python: charms call ``etcd.etcdctl`` often)."""
    env = app_environment(meta, rev, app, ROOT_HOME)
    name = meta["name"]
    lines = [
        "#!/bin/sh",
        f"# {app.full}: generated by localjuju's snap (equivalent to 'snap run {app.full}')",
    ]
    user_dependent = {
        "SNAP_USER_COMMON",
        "SNAP_USER_DATA",
        "SNAP_REAL_HOME",
        "HOME",
        "SNAP_UID",
        "SNAP_EUID",
        "XDG_RUNTIME_DIR",
    }
    lines.append("_u=$(id -u)")
    if mpath("/") == "/":
        lines.append('if [ "$_u" = 0 ]; then _h=/root; else _h=${HOME:-/root}; fi')
    else:
        lines.append(f"_h={_sh_quote(mpath(ROOT_HOME))}")
    for k, v in env.items():
        if k in user_dependent:
            continue
        lines.append(f"export {k}={_sh_quote(v)}")
    lines.append('export SNAP_UID="$_u" SNAP_EUID="$_u"')
    lines.append(f'export XDG_RUNTIME_DIR="{mpath("/run/user")}/$_u/snap.{name}"')
    lines.append(f'export SNAP_USER_COMMON="$_h/snap/{name}/common"')
    lines.append(f'export SNAP_USER_DATA="$_h/snap/{name}/{rev}"')
    lines.append('export SNAP_REAL_HOME="$_h"')
    lines.append(f'export HOME="$_h/snap/{name}/{rev}"')
    argv = app_argv(meta, rev, app, env)
    # one line per call, for the benchmark's count of etcdctl calls (no arguments: no data)
    lines.append(f"{{ echo {app.full} >>{_sh_quote(mpath(RUN_LOG))}; }} 2>/dev/null || :")
    lines += C.wrapper_lines(profile(meta, rev, app), sys.executable, argv, _sh_quote)
    return "\n".join(lines) + "\n"


def profile(meta: dict[str, Any], rev: str, app: App) -> C.Profile:
    """What confinement gives ``app`` (its connected plugs are read at run time)."""
    return C.Profile(
        snap=meta["name"],
        app=app.name,
        rev=rev,
        confinement=str(meta.get("confinement") or "strict"),
    )


def _sh_quote(s: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./:=@%+,-]+", s):
        return s
    return "'" + s.replace("'", "'\\''") + "'"


def unit_text(meta: dict[str, Any], rev: str, app: App) -> str:
    """The systemd unit snapd generates for a daemon app."""
    name = meta["name"]
    timeout = app.stop_timeout
    return (
        "[Unit]\n"
        "# Auto-generated, DO NOT EDIT\n"
        f"Description=Service for snap application {name}.{app.name}\n"
        "Wants=network.target\n"
        "After=network.target snapd.apparmor.service\n"
        "X-Snappy=yes\n"
        "\n"
        "[Service]\n"
        "EnvironmentFile=-/etc/environment\n"
        f"ExecStart=/usr/bin/snap run {app.full}\n"
        f"SyslogIdentifier={name}.{app.name}\n"
        f"Restart={app.restart_condition}\n"
        f"WorkingDirectory={data_dir(name, rev)}\n"
        f"TimeoutStopSec={timeout}\n"
        f"Type={app.daemon}\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def _atomic_write(machine_path: str, text: str, mode: int = 0o644) -> None:
    real = mpath(machine_path)
    os.makedirs(os.path.dirname(real), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(real), prefix=".tmp.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, real)


def _symlink(machine_path: str, target: str) -> None:
    real = mpath(machine_path)
    os.makedirs(os.path.dirname(real), exist_ok=True)
    tmp = f"{real}.tmp-{os.getpid()}"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, real)


def _rmtree(machine_path: str) -> None:
    real = mpath(machine_path)
    if os.path.islink(real) or os.path.isfile(real):
        os.unlink(real)
    elif os.path.isdir(real):
        shutil.rmtree(real)


# ---------------------------------------------------------------------------------------------
# Services


def _systemctl(op: str, units: list[str], **kw: Any) -> dict[str, Any]:
    try:
        return SC.request(op, units=units, **kw)
    except SC.SystemdUnavailable as e:
        raise SnapError(
            f"cannot {op} {' '.join(units)}: the machine's service manager is not running ({e})"
        ) from e
    except SC.SystemdError as e:
        raise SnapError(f"cannot {op} {' '.join(units)}: {e}") from e


def _jobs(op: str, units: list[str]) -> None:
    if not units:
        return
    reply = _systemctl(op, units)
    rc, lines = SC.job_messages(op, reply["results"])
    if rc:
        raise SnapError(
            f"cannot perform the following tasks:\n- {op.capitalize()} of "
            + ", ".join(units)
            + " ("
            + " ".join(line.splitlines()[0] for line in lines if not line.startswith("Warning"))
            + ")"
        )


def service_states(units: list[str]) -> dict[str, tuple[bool, bool]]:
    """unit -> (enabled, active)."""
    if not units:
        return {}
    reply = _systemctl("show", units)
    out = {}
    for item in reply["units"]:
        p = item["props"]
        out[item["name"]] = (
            p.get("UnitFileState") == "enabled",
            p.get("ActiveState") in ("active", "reloading", "activating"),
        )
    return out


# ---------------------------------------------------------------------------------------------
# Linking a revision


def unpack(name: str, rev: str, snap_file: str) -> dict[str, Any]:
    target = mpath(snap_dir(name, rev))
    if not os.path.isdir(target):
        parent = os.path.dirname(target)
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=parent, prefix=f".{rev}.")
        os.rmdir(tmp)
        try:
            S.extract_snap(snap_file, tmp)
        except S.StoreError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise SnapError(str(e)) from e
        os.replace(tmp, target)
    meta = read_meta(name, rev)
    if meta.get("name") != name:
        raise SnapError(f"snap file declares name {meta.get('name')!r}, expected {name!r}")
    return meta


def copy_data(name: str, old: str | None, new: str) -> None:
    """snapd's data copy on refresh: ``$SNAP_DATA`` and root's ``$SNAP_USER_DATA``."""
    for base in (f"/var/snap/{name}", f"{ROOT_HOME}/snap/{name}"):
        dst = mpath(f"{base}/{new}")
        src = mpath(f"{base}/{old}") if old else None
        if src and os.path.isdir(src) and old != new:
            if os.path.lexists(dst):
                shutil.rmtree(dst) if os.path.isdir(dst) else os.unlink(dst)
            shutil.copytree(src, dst, symlinks=True)
        else:
            os.makedirs(dst, exist_ok=True)
        os.makedirs(mpath(f"{base}/common"), exist_ok=True)


def link(meta: dict[str, Any], rev: str) -> list[App]:
    """Make ``rev`` current: symlinks, /snap/bin commands, unit files. Returns daemon apps."""
    name = meta["name"]
    _symlink(f"/snap/{name}/current", rev)
    _symlink(f"/var/snap/{name}/current", rev)
    _symlink(f"{ROOT_HOME}/snap/{name}/current", rev)
    os.makedirs(mpath("/snap/bin"), exist_ok=True)
    daemons = []
    for app in apps_of(meta):
        _atomic_write(f"/snap/bin/{app.full}", wrapper_script(meta, rev, app), 0o755)
        if app.daemon:
            _atomic_write(f"{UNIT_DIR}/{app.unit}", unit_text(meta, rev, app))
            daemons.append(app)
    return daemons


def unlink_apps(meta: dict[str, Any]) -> None:
    for app in apps_of(meta):
        for p in (f"/snap/bin/{app.full}", f"{UNIT_DIR}/{app.unit}"):
            real = mpath(p)
            if os.path.lexists(real):
                os.unlink(real)


def _prune(entry: dict[str, Any]) -> None:
    """Keep the last :data:`RETAIN` revisions (snapd's refresh.retain)."""
    name = entry["name"]
    seq = entry["sequence"]
    while len(seq) > RETAIN:
        old = seq.pop(0)["revision"]
        if old == entry["revision"]:
            seq.append({"revision": old, "version": entry["version"]})
            continue
        for p in (snap_dir(name, old), data_dir(name, old), f"{ROOT_HOME}/snap/{name}/{old}"):
            _rmtree(p)


def switch_revision(
    state: dict[str, Any], name: str, snap_file: str | None, rev: str, copy: bool = True
) -> dict[str, Any]:
    """Stop the snap's services, move to ``rev`` (data copied forward), restart them."""
    entry = state["snaps"].get(name)
    old_rev = entry["revision"] if entry else None
    old_meta = read_meta(name, entry["revision"]) if entry else None
    meta = unpack(name, rev, snap_file) if snap_file else read_meta(name, rev)
    restart: list[str] = []
    if old_meta:
        units = [a.unit for a in apps_of(old_meta) if a.daemon]
        states = service_states(units)
        disabled = set((entry or {}).get("disabled-services") or [])
        restart = [
            a.unit
            for a in apps_of(old_meta)
            if a.daemon and (a.name not in disabled and (states[a.unit][0] or states[a.unit][1]))
        ]
        _jobs("stop", units)
    if copy:
        copy_data(name, old_rev, rev)
    else:
        copy_data(name, None, rev)
    if old_meta:
        unlink_apps(old_meta)
    C.discard(name)  # snap-discard-ns: the next start sees the new revision
    daemons = link(meta, rev)
    _systemctl("daemon-reload", [])
    if entry is None:
        disabled = set()
        to_start = [a.unit for a in daemons]
    else:
        disabled = set(entry.get("disabled-services") or [])
        to_start = [a.unit for a in daemons if a.name not in disabled and a.unit in restart]
    enable = [a.unit for a in daemons if a.name not in disabled]
    if enable:
        reply = _systemctl("enable", enable)
        if reply.get("errors"):
            raise SnapError("; ".join(reply["errors"]))
    _jobs("start", to_start)
    return meta


# ---------------------------------------------------------------------------------------------
# Commands


@dataclass
class Args:
    positional: list[str]
    flags: dict[str, str | bool]

    def get(self, key: str, default: Any = None) -> Any:
        return self.flags.get(key, default)


VALUE_FLAGS = {"channel", "revision", "n", "cohort", "name", "unicode", "color", "abs-time-x"}
RISK_FLAGS = ("stable", "candidate", "beta", "edge")


def parse(argv: list[str]) -> Args:
    pos: list[str] = []
    flags: dict[str, str | bool] = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            pos.extend(argv[i + 1 :])
            break
        if a.startswith("--"):
            key, eq, val = a[2:].partition("=")
            if key in VALUE_FLAGS and not eq:
                i += 1
                if i >= len(argv):
                    raise SnapError(f"expected argument for flag `--{key}'")
                val = argv[i]
                eq = "="
            flags[key] = val if eq else True
        elif a.startswith("-") and len(a) > 1:
            key = a[1:2]
            if key == "n":
                val = a[2:] or (argv[i + 1] if i + 1 < len(argv) else "")
                if not a[2:]:
                    i += 1
                flags["n"] = val
            else:
                for c in a[1:]:
                    flags[c] = True
        else:
            pos.append(a)
        i += 1
    for r in RISK_FLAGS:
        if flags.get(r) is True:
            flags["channel"] = r
    return Args(pos, flags)


def out(text: str = "") -> None:
    sys.stdout.write(text + ("\n" if not text.endswith("\n") else ""))


def err(text: str) -> None:
    sys.stderr.write(text + ("\n" if not text.endswith("\n") else ""))


def _store(what: str = "", method: str = "POST", path: str = "v2/snaps/refresh") -> S.Store:
    """The store as the model's machines see it (the model's overlay applied).

    Every store operation reads it through here. An unreachable store (the model's
    ``localjuju-snap-store-reachable=false``) fails as snapd fails a request to a store it
    cannot resolve: ``<what>: persistent network error: Post "https://...": dial tcp: ...``
    (daemon/api_snaps.go: ``cannot %s %s: %v``)."""
    try:
        return S.open_store(store_dir(), store_overlay_dir())
    except S.StoreUnreachable as e:
        msg = e.url_error(method, path)
        raise StoreUnreachableError(f"{what}: {msg}" if what else msg) from e
    except S.StoreError as e:
        raise SnapError(str(e)) from e


class StoreUnreachableError(SnapError):
    """A store operation on a machine whose store cannot be reached."""


def _held_until(value: Any) -> float:
    """A hold's end as a timestamp: ``forever`` is infinite, unset or unreadable 0."""
    if value == "forever":
        return float("inf")
    if not value:
        return 0.0
    try:
        return _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def snap_held(entry: dict[str, Any], now: float | None = None) -> bool:
    """A general hold (``snap refresh --hold <snap>``) in effect on an installed snap."""
    return _held_until(entry.get("hold")) > (time.time() if now is None else now)


def _system_config(state: dict[str, Any]) -> dict[str, Any]:
    conf: dict[str, Any] = state.setdefault("system", {}).setdefault("config", {})
    return conf


def auto_refresh_held(state: dict[str, Any], now: float | None = None) -> bool:
    """``refresh.hold`` (``snap refresh --hold`` without snaps, or ``snap set system
    refresh.hold=<time>``) in effect: no automatic refresh of any snap."""
    refresh = _system_config(state).get("refresh") or {}
    hold = refresh.get("hold") if isinstance(refresh, dict) else None
    return _held_until(hold) > (time.time() if now is None else now)


def go_rfc3339(ts: float) -> str:
    """Go's ``time.Format(time.RFC3339)`` of a local time: ``Z`` for UTC, else ``+hh:mm``."""
    d = _dt.datetime.fromtimestamp(int(ts)).astimezone()
    text = d.isoformat(timespec="seconds")
    return text[:-6] + "Z" if d.utcoffset() == _dt.timedelta(0) else text


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration(text: str) -> float:
    """Go's ``time.ParseDuration`` (seconds); ValueError with Go's message otherwise."""
    orig = text
    if text in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if not text:
        raise ValueError(f'time: invalid duration "{orig}"')
    total = 0.0
    for m in re.finditer(r"(\d+(?:\.\d*)?|\.\d+)([a-z\u00b5]*)|(.)", text):
        if m.group(3) is not None:
            raise ValueError(f'time: invalid duration "{orig}"')
        unit = m.group(2)
        if not unit:
            raise ValueError(f'time: missing unit in duration "{orig}"')
        if unit not in _GO_UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{orig}"')
        total += float(m.group(1)) * _GO_UNITS[unit]
    return sign * total


def _quoted(names: list[str]) -> str:
    """snapd's strutil.Quoted: ``"a", "b"``."""
    return ", ".join(json.dumps(n) for n in names)


def _resolve(snap: S.StoreSnap, channel_text: str | None, action: str) -> S.ChannelEntry:
    try:
        ch = S.parse_channel(channel_text)
    except S.StoreError as e:
        raise SnapError(str(e)) from e
    entry = snap.channels.get(ch.full)
    if entry is not None:
        return entry
    name = snap.name
    same_track = [c for c in snap.channels if c.split("/")[0] == ch.track]
    same_risk = [c for c in snap.channels if c.split("/")[1] == ch.risk]

    def row(c: str) -> tuple[str, str]:
        t, r = c.split("/")
        opt = f"--channel={t}" if r == "stable" and t != "latest" else f"--channel={c}"
        if t == "latest":
            opt = f"--{r}"
        return c, f"snap {action} {opt} {name}"

    def table(chs: list[str]) -> str:
        rows = [row(c) for c in chs]
        w = max(len("candidate") + 2, max(len(c) + 2 for c, _ in rows))
        return "\n".join(f"  {c.ljust(w)}{cmd}" for c, cmd in rows)

    hint = f"Get more information with 'snap info {name}'."
    if same_track:
        msg = (
            f'snap "{name}" is not available on {ch.short} but is available to install on the '
            f"following channels:\n{table(same_track)}\n"
        )
        if ch.risk == "stable":
            msg += "\nPlease be mindful pre-release channels may include features not "
            msg += "completely tested or implemented."
        raise SnapError(msg + "\n" + hint)
    if same_risk:
        msg = (
            f'snap "{name}" is not available on {ch.full} but is available to install on the '
            f"following tracks:\n{table(same_risk)}\n\n"
            "Please be mindful that different tracks may include different features.\n" + hint
        )
        raise SnapError(msg)
    raise SnapError(
        f'snap "{name}" is not available on {ch.full} but other tracks exist.\n\n\n'
        "Please be mindful that different tracks may include different features.\n" + hint
    )


def _done_line(entry: dict[str, Any], action: str) -> str:
    ch = entry.get("channel") or ""
    chs = ""
    if ch:
        c = S.parse_channel(ch)
        if c.short != "stable":
            chs = f" ({c.short})"
    pub = entry.get("publisher")
    if pub:
        return f"{entry['name']}{chs} {entry['version']} from {publisher_long(pub)} {action}"
    return f"{entry['name']}{chs} {entry['version']} {action}"


def _new_entry(meta: dict[str, Any], rev: str, channel: str, snap: S.StoreSnap | None) -> dict:
    return {
        "name": meta["name"],
        "revision": rev,
        "version": str(meta.get("version", "")),
        "channel": channel,
        "publisher": snap.publisher() if snap else None,
        "summary": (snap.meta.get("summary") if snap else None) or meta.get("summary", ""),
        "description": (snap.meta.get("description") if snap else None)
        or meta.get("description", ""),
        "license": (snap.meta.get("license") if snap else None) or meta.get("license", ""),
        "snap-id": snap.meta.get("snap-id", "") if snap else "",
        "confinement": meta.get("confinement", "strict"),
        "type": str(meta.get("type") or "app"),
        "local": snap is None,
        "install-date": time.time(),
        "sequence": [],
        "config": {},
        "connections": {},
        "disabled-services": [],
        "size": 0,
    }


def cmd_install(a: Args) -> int:
    if not a.positional:
        raise SnapError("the required argument `<snap> (at least 1 argument)` was not provided")
    if len(a.positional) > 1 and a.get("channel"):
        raise SnapError("a single snap name is needed to specify channel flags")
    rc = 0
    for target in a.positional:
        rc = max(rc, _install_one(target, a))
    return rc


def next_local(entry: dict[str, Any] | None) -> int:
    """The number of the next local revision of a snap (``x<N>``): one past the highest
    local revision in its sequence, 1 when it has none (snapd counts per snap)."""
    seq = (entry or {}).get("sequence") or []
    used = [int(str(s["revision"])[1:]) for s in seq if str(s.get("revision", "")).startswith("x")]
    return max(used, default=0) + 1


def _install_one(target: str, a: Args) -> int:
    is_file = target.endswith(".snap") or "/" in target
    with locked():
        state = load_state()
        if is_file:
            path = os.path.abspath(target)
            if not os.path.exists(path):
                raise SnapError(f'cannot open "{target}": no such file or directory')
            if not a.get("dangerous") and not a.get("devmode"):
                raise SnapError(f'cannot find signatures with metadata for snap "{target}"')
            try:
                meta0 = S.read_snap_yaml(path)
            except S.StoreError as e:
                raise SnapError(str(e)) from e
            name = meta0["name"]
            _ensure_base(state, meta0)
            entry = state["snaps"].get(name)
            # snapd's InstallPath: one less than the snap's lowest local revision in its
            # sequence (snapst.LocalRevision()), i.e. x1, x2, ... per snap, never global
            rev = f"x{next_local(entry)}"
            meta = switch_revision(state, name, path, rev)
            new = _new_entry(meta, rev, "", None)
            if entry:
                new.update({k: entry[k] for k in ("config", "connections", "sequence")})
                new["install-date"] = entry.get("install-date", time.time())
            new["size"] = os.path.getsize(path)
            new["sequence"].append({"revision": rev, "version": new["version"]})
            state["snaps"][name] = new
            _prune(new)
            record_change(state, f'Install "{name}" snap from file "{os.path.basename(path)}"')
            save_state(state)
            out(_done_line(new, "installed"))
            return 0
        name = target
        if name in state["snaps"]:
            raise Notice(f"snap \"{name}\" is already installed, see 'snap help refresh'")
        store = _store(f'cannot install "{name}"')
        snap = store.snap(name)
        if snap is None:
            raise SnapError(f'snap "{name}" not found')
        ce = _pick(snap, a, "install")
        snap_file = _verified_file(store, ce)
        if a.get("classic"):
            err(f"Warning: flag --classic ignored for strictly confined snap {name}\n")
        try:
            meta0 = S.read_snap_yaml(snap_file)
        except S.StoreError as e:
            raise SnapError(str(e)) from e
        _ensure_base(state, meta0, store)
        new = _install_from_store(state, store, snap, ce)
        record_change(state, f'Install "{name}" snap from "{ce.channel}" channel')
        save_state(state)
        out(_done_line(new, "installed"))
        return 0


def _install_from_store(
    state: dict[str, Any], store: S.Store, snap: S.StoreSnap, ce: S.ChannelEntry
) -> dict[str, Any]:
    rev = str(ce.revision)
    meta = switch_revision(state, snap.name, _verified_file(store, ce), rev)
    new = _new_entry(meta, rev, ce.channel, snap)
    new["size"] = ce.size
    new["sequence"].append({"revision": rev, "version": new["version"]})
    new["connections"] = _auto_connections(meta)
    state["snaps"][snap.name] = new
    return new


def snap_base(meta: dict[str, Any]) -> str | None:
    """The base a snap needs installed first (snapd's prerequisites): its ``base:``, ``core``
    for an application without one, none for bases, ``os`` snaps and ``base: none``."""
    if str(meta.get("type") or "app") not in ("app", "gadget"):
        return None
    base = str(meta.get("base") or "core")
    return None if base == "none" else base


def _ensure_base(
    state: dict[str, Any], meta: dict[str, Any], store: S.Store | None = None
) -> None:
    """Install the snap's base from the store when it is missing, as snapd's prerequisites task
    does (overlord/snapstate/handlers_prereq.go); its failure is that task's."""
    base = snap_base(meta)
    if base is None or base in state["snaps"]:
        return
    task = f'Ensure prerequisites for "{meta["name"]}" are available'
    try:
        if store is None:
            store = _store()
        snap = store.snap(base)
        if snap is None:
            raise SnapError("snap not found")
        ce = _resolve(snap, "latest/stable", "install")
        _install_from_store(state, store, snap, ce)
    except SnapError as e:
        raise SnapError(
            f'cannot perform the following tasks:\n- {task} (cannot install snap base "{base}": '
            f"{e})"
        ) from e


def _pick(snap: S.StoreSnap, a: Args, action: str) -> S.ChannelEntry:
    rev = a.get("revision")
    if rev:
        for ce in snap.channels.values():
            if str(ce.revision) == str(rev):
                return ce
        raise SnapError(
            f'snap "{snap.name}" revision {rev} not available (see \'snap info ' f"{snap.name}')"
        )
    return _resolve(snap, a.get("channel"), action)


def _verified_file(store: S.Store, ce: S.ChannelEntry) -> str:
    path = store.file_path(ce)
    if not os.path.exists(path):
        raise SnapError(f"cannot download snap: {path} is missing from the local store")
    if S.sha256_file(path) != ce.sha256:
        raise SnapError(f"cannot verify snap: sha256 mismatch for {path}")
    return path


def _auto_connections(meta: dict[str, Any]) -> dict[str, str]:
    auto = {"network", "network-bind", "home"}
    conns = {}
    for app in (meta.get("apps") or {}).values():
        for plug in (app or {}).get("plugs") or []:
            if plug in auto:
                conns[plug] = f":{plug}"
    return conns


def cmd_refresh(a: Args) -> int:
    names = a.positional
    if a.get("time"):
        return _refresh_time()
    if a.get("list"):
        if names:
            raise SnapError("--list does not accept additional arguments")
        return _refresh_list()
    if a.get("hold"):
        return _hold(a, names)
    if a.get("unhold"):
        return _unhold(names)
    with locked():
        state = load_state()
        if not names:
            if a.get("channel"):
                raise SnapError("a single snap name is needed to specify mode or channel flags")
            # a general refresh: snaps with a hold of their own are left alone
            names = [
                n
                for n, e in sorted(state["snaps"].items())
                if not e.get("local") and not snap_held(e)
            ]
            store = _store("cannot refresh")
            changed = False
            for n in names:
                if _refresh_one(state, n, a, store, quiet=True):
                    changed = True
            if not changed:
                err("All snaps up to date.")
            save_state(state)
            return 0
        if len(names) > 1 and a.get("channel"):
            raise SnapError("a single snap name is needed to specify mode or channel flags")
        for n in names:
            # a refresh that names the snap takes it, held or not
            _refresh_one(state, n, a)
        save_state(state)
    return 0


def _refresh_list() -> int:
    state = load_state()
    store = _store("cannot list updates")
    rows = ["Name\tVersion\tRev\tSize\tPublisher\tNotes"]
    for name, e in sorted(state["snaps"].items()):
        ce = _update_for(store, e)
        if ce is not None:
            snap = store.snap(name)
            rows.append(
                f"{name}\t{ce.version}\t{ce.revision}\t{format_size(ce.size)}\t"
                f"{publisher_short(snap.publisher() if snap else None)}\t-"
            )
    if len(rows) == 1:
        err("All snaps up to date.")
        return 0
    sys.stdout.write(tabwrite(rows, 5, 2))
    return 0


def _update_for(store: S.Store, entry: dict[str, Any]) -> S.ChannelEntry | None:
    """The store's revision in the channel a store snap tracks, when it is not installed."""
    snap = store.snap(entry["name"])
    if snap is None or entry.get("local"):
        return None
    ce = snap.channels.get(S.parse_channel(entry.get("channel")).full)
    if ce is None or str(ce.revision) == entry["revision"]:
        return None
    return ce


def _refresh_one(
    state: dict[str, Any],
    name: str,
    a: Args,
    store: S.Store | None = None,
    quiet: bool = False,
    summary: str = "",
) -> bool:
    entry = installed(state, name)
    if entry.get("local") and not a.get("amend"):
        raise SnapError(
            f'local snap "{name}" is unknown to the store, use --amend to proceed anyway'
        )
    if store is None:
        store = _store(f'cannot refresh "{name}"')
    snap = store.snap(name)
    if snap is None:
        raise SnapError(f'snap "{name}" not found')
    channel = a.get("channel") or entry.get("channel") or "latest/stable"
    ce = _pick(snap, Args([], {**a.flags, "channel": channel}), "refresh")
    rev = str(ce.revision)
    if rev == entry["revision"] and not entry.get("local"):
        if ce.channel != entry.get("channel"):
            entry["channel"] = ce.channel
            record_change(state, f'Switch "{name}" snap to {ce.channel}')
            out(_done_line(entry, "refreshed"))
            return True
        if not quiet:
            err(f'snap "{name}" has no updates available')
        return False
    meta = switch_revision(state, name, _verified_file(store, ce), rev)
    new = _new_entry(meta, rev, ce.channel, snap)
    for k in ("config", "connections", "disabled-services", "install-date", "hold"):
        if k in entry:
            new[k] = entry[k]
    new["size"] = ce.size
    new["sequence"] = [s for s in entry["sequence"] if s["revision"] != rev] + [
        {"revision": rev, "version": new["version"]}
    ]
    state["snaps"][name] = new
    _prune(new)
    record_change(state, summary or f'Refresh "{name}" snap from "{ce.channel}" channel')
    out(_done_line(new, "refreshed"))
    return True


def _hold(a: Args, names: list[str]) -> int:
    """``snap refresh --hold[=<duration>|forever] [<snap>...]`` (cmd_snap_op.go holdRefreshes):
    with snaps, a general hold of each (no automatic refresh, no refresh of all snaps; a
    refresh naming the snap still happens); without, an auto-refresh hold of all snaps
    (``refresh.hold``)."""
    value = a.get("hold")
    if value is True or value == "forever":
        until = "forever"
    else:
        try:
            dur = go_duration(str(value))
        except ValueError as e:
            raise SnapError(
                f'hold value must be a number of hours, minutes or seconds, or "forever": {e}'
            ) from None
        if dur < 1:
            raise SnapError(f"cannot hold refreshes for less than a second: {value}")
        until = go_rfc3339(time.time() + dur)
    with locked():
        state = load_state()
        for n in names:
            installed(state, n)
        if names:
            for n in names:
                state["snaps"][n]["hold"] = until
            record_change(state, f"Hold general refreshes for {_quoted(names)}")
        else:
            _system_config(state).setdefault("refresh", {})["hold"] = until
            record_change(state, "Hold auto-refreshes for all snaps")
        save_state(state)
    when = "indefinitely" if until == "forever" else f"until {until}"
    if names:
        out(f"General refreshes of {_quoted(names)} held {when}")
    else:
        out(f"Auto-refresh of all snaps held {when}")
    return 0


def _unhold(names: list[str]) -> int:
    with locked():
        state = load_state()
        for n in names:
            installed(state, n)
        if names:
            for n in names:
                state["snaps"][n].pop("hold", None)
            record_change(state, f"Remove refresh hold on {_quoted(names)}")
        else:
            refresh = _system_config(state).get("refresh")
            if isinstance(refresh, dict):
                refresh.pop("hold", None)
            record_change(state, "Remove auto-refresh hold on all snaps")
        save_state(state)
    if names:
        out(f"Removed general refresh hold of {_quoted(names)}")
    else:
        out("Removed auto-refresh hold on all snaps")
    return 0


DEFAULT_REFRESH_TIMER = "00:00~24:00/4"


def _refresh_time() -> int:
    """``snap refresh --time`` (cmd_snap_op.go showRefreshTimes)."""
    state = load_state()
    refresh = _system_config(state).get("refresh") or {}
    timer = (refresh.get("timer") if isinstance(refresh, dict) else None) or DEFAULT_REFRESH_TIMER
    out(f"timer: {timer}")
    last = float(state.get("last-refresh") or 0)
    out(f"last: {human_time(last) if last else 'n/a'}")
    hold = _held_until(refresh.get("hold") if isinstance(refresh, dict) else None)
    if hold == float("inf"):
        out("hold: forever")
    elif hold > time.time():
        out(f"hold: {human_time(hold)}")
    interval = _auto_refresh_interval()
    if interval > 0:
        nxt = max(last, float(state.get("auto-refresh-start") or 0)) + interval
        held = " (but held)" if nxt <= hold else ""
        out(f"next: {human_time(nxt)}{held}")
    else:
        out("next: n/a")
    return 0


def _auto_refresh_interval() -> int:
    try:
        return S.load_overlay(store_overlay_dir()).auto_refresh
    except S.StoreError:
        return 0


def auto_refresh() -> int:
    """What snapd's auto-refresh does when it is due (``snap debug localjuju-auto-refresh``,
    run by the machine's snapd.service every ``localjuju-snap-auto-refresh`` interval):
    refresh every store snap without a hold to its tracked channel's revision, unless
    ``refresh.hold`` holds all auto-refreshes. Returns 0, or 1 when the store failed."""
    with locked():
        state = load_state()
        now = time.time()
        if auto_refresh_held(state, now):
            out("auto-refresh: all snaps held")
            return 0
        try:
            store = _store("cannot refresh")
        except SnapError as e:
            out(f"auto-refresh: {e}")
            return 1
        due = [
            n
            for n, e in sorted(state["snaps"].items())
            if not snap_held(e, now) and _update_for(store, e) is not None
        ]
        state["last-refresh"] = now
        for n in due:
            _refresh_one(state, n, Args([], {}), store, summary=f'Auto-refresh snap "{n}"')
        save_state(state)
    return 0


def _the_snap(a: Args) -> str:
    """The single ``<snap>`` argument of revert, enable and disable."""
    if len(a.positional) != 1:
        raise SnapError("the required argument `<snap>` was not provided")
    return a.positional[0]


def cmd_revert(a: Args) -> int:
    name = _the_snap(a)
    with locked():
        state = load_state()
        entry = installed(state, name)
        seq = [s["revision"] for s in entry["sequence"]]
        want = a.get("revision")
        if want:
            if str(want) not in seq:
                raise SnapError(f'cannot revert snap "{name}": revision {want} is not retained')
            rev = str(want)
        else:
            idx = seq.index(entry["revision"]) if entry["revision"] in seq else len(seq)
            if idx == 0:
                raise SnapError(f'no revision to revert to for "{name}"')
            rev = seq[idx - 1]
        if not os.path.isdir(mpath(data_dir(name, rev))):
            raise SnapError(f'cannot revert snap "{name}": data of revision {rev} is gone')
        meta = switch_revision(state, name, None, rev, copy=False)
        entry["revision"] = rev
        entry["version"] = str(meta.get("version", ""))
        record_change(state, f'Revert "{name}" snap')
        save_state(state)
        out(f"{name} reverted to {entry['version']}")
    return 0


def cmd_remove(a: Args) -> int:
    if not a.positional:
        raise SnapError("the required argument `<snap> (at least 1 argument)` was not provided")
    with locked():
        state = load_state()
        for name in a.positional:
            entry = state["snaps"].get(name)
            if entry is None:
                err(f'snap "{name}" is not installed')
                continue
            meta = read_meta(name, entry["revision"])
            units = [app.unit for app in apps_of(meta) if app.daemon]
            if units:
                _jobs("stop", units)
                _systemctl("disable", units)
            unlink_apps(meta)
            C.discard(name)
            _systemctl("daemon-reload", [])
            saved = False
            if not a.get("purge") and os.path.isdir(mpath(f"/var/snap/{name}")):
                sid = (
                    len(os.listdir(mpath(SNAPSHOTS))) + 1 if os.path.isdir(mpath(SNAPSHOTS)) else 1
                )
                dest = f"{SNAPSHOTS}/{sid}_{name}_{entry['version']}_{entry['revision']}"
                os.makedirs(mpath(SNAPSHOTS), exist_ok=True)
                shutil.move(mpath(f"/var/snap/{name}"), mpath(dest))
                saved = True
            for p in (f"/snap/{name}", f"/var/snap/{name}", f"{ROOT_HOME}/snap/{name}"):
                _rmtree(p)
            del state["snaps"][name]
            record_change(state, f'Remove "{name}" snap')
            save_state(state)
            out(f"{name} removed" + (" (snap data snapshot saved)" if saved else ""))
    return 0


def cmd_list(a: Args) -> int:
    state = load_state()
    snaps = state["snaps"]
    names = a.positional or sorted(snaps)
    rows = ["Name\tVersion\tRev\tTracking\tPublisher\tNotes"]
    for name in names:
        e = snaps.get(name)
        if e is None:
            continue
        # snapd's order (cmd/snap notes.go): type, disabled, classic, held
        notes = []
        typ = e.get("type") or "app"
        if typ != "app":
            notes.append("core" if typ == "os" else typ)
        if e.get("disabled"):
            notes.append("disabled")
        if e.get("confinement") == "classic":
            notes.append("classic")
        if snap_held(e):
            notes.append("held")
        tracking = e.get("channel") or "-"
        if tracking.count("/") == 2:
            tracking = tracking.rsplit("/", 1)[0] + "/\u2026"
        rows.append(
            f"{name}\t{e.get('version') or '-'}\t{e['revision']}\t{tracking}\t"
            f"{publisher_short(e.get('publisher'))}\t{','.join(notes) or '-'}"
        )
    if len(rows) == 1:
        if a.positional:
            raise SnapError("no matching snaps installed")
        err("No snaps are installed yet. Try 'snap install hello-world'.")
        return 0
    sys.stdout.write(tabwrite(rows, 5, 2))
    return 0


def cmd_info(a: Args) -> int:
    if not a.positional:
        raise SnapError("the required argument `<snap> (at least 1 argument)` was not provided")
    state = load_state()
    try:
        store = _store(method="GET", path="v2/snaps/info")
    except StoreUnreachableError:
        # snap info ignores the store's failure (cmd_info.go: FindOne's error is dropped):
        # an installed snap is shown without its channels, another is not found
        store = S.Store("", {})
    chunks = []
    found = False
    for name in a.positional:
        local = state["snaps"].get(name)
        remote = store.snap(name)
        if local is None and remote is None:
            if len(a.positional) == 1:
                raise SnapError(f'no snap found for "{name}"')
            chunks.append(f'warning:\tno snap found for "{name}"\n')
            continue
        found = True
        chunks.append(_info_text(name, local, remote, bool(a.get("abs-time"))))
    if not found:
        raise SnapError("no valid snaps given")
    sys.stdout.write("---\n".join(chunks))
    return 0


def _info_text(
    name: str, local: dict[str, Any] | None, remote: S.StoreSnap | None, abs_time: bool
) -> str:
    meta_src = remote.meta if remote else {}
    summary = (local or {}).get("summary") or meta_src.get("summary", "")
    pub = (local or {}).get("publisher") if local else (remote.publisher() if remote else None)
    if remote and not pub:
        pub = remote.publisher() if not (local and local.get("local")) else None
    lic = (local or {}).get("license") or meta_src.get("license") or "unset"
    desc = (local or {}).get("description") or meta_src.get("description", "")
    head = [f"name:\t{name}", f"summary:\t{summary}"]
    if pub:
        head.append(f"publisher:\t{publisher_long(pub)}")
    head.append(f"license:\t{lic}")
    text = tabwrite(head, 2, 1)
    text += "description: |\n"
    for line in desc.rstrip("\n").splitlines() or [""]:
        text += f"  {line}\n" if line else "\n"
    if local:
        meta = read_meta(name, local["revision"])
        apps = apps_of(meta)
        cmds = [app.full for app in apps if not app.daemon]
        if cmds:
            text += "commands:\n" + "".join(f"  - {c}\n" for c in cmds)
        daemons = [app for app in apps if app.daemon]
        if daemons:
            states = {}
            try:
                states = service_states([app.unit for app in daemons])
            except SnapError:
                pass
            rows = []
            for app in daemons:
                enabled, active = states.get(app.unit, (False, False))
                rows.append(
                    f"  {app.full}:\t{app.daemon}, {'enabled' if enabled else 'disabled'}, "
                    f"{'active' if active else 'inactive'}"
                )
            text += "services:\n" + tabwrite(rows, 2, 1)
    tail = []
    if remote and remote.meta.get("snap-id"):
        tail.append(f"snap-id:\t{remote.meta['snap-id']}")
    if local:
        tail.append(f"tracking:\t{local.get('channel') or '-'}")
        ts = float(local.get("install-date") or time.time())
        when = (
            _dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")
            if abs_time
            else human_time(ts)
        )
        tail.append(f"refresh-date:\t{when}")
    chan_rows = []
    rev_w = size_w = 0
    entries: list[tuple[str, str, str, str, str, str]] = []
    if remote:
        for track in remote.tracks:
            has_open = False
            for risk in S.RISKS:
                ch = f"{track}/{risk}"
                ce = remote.channels.get(ch)
                if ce:
                    has_open = True
                    released = ce.released_at[:10] if not abs_time else ce.released_at
                    entries.append(
                        ("  ", ch, ce.version, released, f"({ce.revision})", format_size(ce.size))
                    )
                else:
                    entries.append(("  ", ch, "\u2191" if has_open else "\u2013", "", "", ""))
    if local:
        entries.append(
            (
                "",
                "installed",
                local.get("version", ""),
                "",
                f"({local['revision']})",
                format_size(int(local.get("size") or 0)),
            )
        )
    for e in entries:
        rev_w = max(rev_w, len(e[4]))
        size_w = max(size_w, len(e[5]))
    for indent, ch, ver, rel, rev, size in entries:
        if not rev:
            chan_rows.append(f"{indent}{ch}:\t{ver}\t\t\t\t")
        else:
            chan_rows.append(
                f"{indent}{ch}:\t{ver}\t{rel}\t{rev.rjust(rev_w)}\t{size.rjust(size_w)}\t-"
            )
    block = tail + (["channels:"] if remote else []) + chan_rows
    body = tabwrite(block, 2, 1)
    body = "\n".join(line.rstrip() for line in body.splitlines()) + "\n"
    return text + body


def _config_get(conf: dict[str, Any], key: str) -> Any:
    cur: Any = conf
    for part in key.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(key)
        cur = cur[part]
    return cur


def cmd_get(a: Args) -> int:
    if not a.positional:
        raise SnapError("the required argument `<snap>` was not provided")
    name, keys = a.positional[0], a.positional[1:]
    state = load_state()
    entry = _config_owner(state, name)
    conf = entry.get("config") or {}
    if not keys:
        if not conf:
            raise SnapError(f'snap "{name}" has no configuration')
        if a.get("d"):
            out(json.dumps(conf, indent="\t"))
            return 0
        rows = ["Key\tValue"]
        for k in sorted(conf):
            v = conf[k]
            rows.append(f"{k}\t{'{...}' if isinstance(v, dict) else _fmt_value(v)}")
        sys.stdout.write(tabwrite(rows, 5, 2))
        return 0
    values = {}
    for k in keys:
        try:
            values[k] = _config_get(conf, k)
        except KeyError:
            raise SnapError(f'snap "{name}" has no "{k}" configuration option') from None
    if len(keys) == 1 and not a.get("d"):
        v = values[keys[0]]
        if isinstance(v, str) and not a.get("t"):
            out(v)
        else:
            out(json.dumps(v, indent="\t"))
        return 0
    out(json.dumps(values, indent="\t"))
    return 0


def installed(state: dict[str, Any], name: str) -> dict[str, Any]:
    """The state entry of an installed snap; an error naming it otherwise."""
    entry = state["snaps"].get(name)
    if entry is None:
        raise SnapError(f'snap "{name}" is not installed')
    return entry


def _config_owner(state: dict[str, Any], name: str) -> dict[str, Any]:
    """Where ``snap get/set <name>`` keeps configuration: the snap's entry, or for ``system``
    (alias ``core``) snapd's own options such as refresh.timer, which always exist."""
    if name in ("system", "core"):
        return state.setdefault("system", {})
    entry = installed(state, name)
    return entry


def _fmt_value(v: Any) -> str:
    if isinstance(v, str):
        return v
    return json.dumps(v)


def cmd_set(a: Args, unset: bool = False) -> int:
    if not a.positional:
        raise SnapError("the required argument `<snap>` was not provided")
    name, pairs = a.positional[0], a.positional[1:]
    if not pairs:
        raise SnapError(
            "the required argument `<conf value> (at least 1 argument)` was not " "provided"
        )
    with locked():
        state = load_state()
        entry = _config_owner(state, name)
        conf = entry.setdefault("config", {})
        for p in pairs:
            if unset or p.endswith("!"):
                key = p.rstrip("!")
                parts = key.split(".")
                cur = conf
                for part in parts[:-1]:
                    cur = cur.get(part, {}) if isinstance(cur, dict) else {}
                if isinstance(cur, dict):
                    cur.pop(parts[-1], None)
                continue
            key, eq, raw = p.partition("=")
            if not eq:
                raise SnapError(f'invalid configuration: "{p}" (want key=value)')
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*", key):
                raise SnapError(f'invalid option name: "{key}"')
            try:
                value: Any = json.loads(raw) if not a.get("s") else raw
            except ValueError:
                value = raw
            parts = key.split(".")
            cur = conf
            for part in parts[:-1]:
                nxt = cur.get(part)
                if not isinstance(nxt, dict):
                    nxt = cur[part] = {}
                cur = nxt
            cur[parts[-1]] = value
        record_change(state, f'Change configuration of "{name}" snap')
        save_state(state)
    return 0


def _declared_plugs(meta: dict[str, Any]) -> dict[str, str]:
    """plug -> interface (a plug named as its interface, as the etcd snap's)."""
    return {
        p: p for app in (meta.get("apps") or {}).values() for p in (app or {}).get("plugs") or []
    }


def _slot_of(conn: Any) -> tuple[str, bool]:
    """A recorded connection: (slot, manual). Auto-connections were recorded as the slot."""
    if isinstance(conn, dict):
        return str(conn.get("slot", "")), bool(conn.get("manual"))
    return str(conn), False


def cmd_connect(a: Args, connect: bool = True) -> int:
    """``snap connect|disconnect <snap>:<plug> [<slot>]``. The change reaches an app at its
    next start: the kept mount namespaces of the snap are discarded (a running daemon keeps
    the view it started with until it is restarted; snapd reloads the AppArmor profile of a
    running daemon at once, see docs/localjuju-snaps.md)."""
    if not a.positional:
        raise SnapError("the required argument `<snap>:<plug>` was not provided")
    plug = a.positional[0]
    slot = a.positional[1] if len(a.positional) > 1 else ""
    name, _, plug_name = plug.partition(":")
    with locked():
        state = load_state()
        entry = state["snaps"].get(name)
        if entry is None:
            raise SnapError(f'snap "{name}" has no plug or slot named "{plug_name}"')
        meta = read_meta(name, entry["revision"])
        plugs = _declared_plugs(meta)
        if plug_name and plug_name not in plugs:
            raise SnapError(f'snap "{name}" has no plug named "{plug_name}"')
        conns = entry.setdefault("connections", {})
        targets = [plug_name] if plug_name else sorted(plugs)
        for p in targets:
            if connect:
                # the system's slot, named ``:x``, ``core:x``, ``snapd:x`` or ``system:x``
                snap_part, _, slot_name = slot.partition(":") if slot else ("", "", p)
                if snap_part not in ("", "core", "snapd", "system") or slot_name != plugs[p]:
                    raise SnapError(
                        f'cannot connect {name}:{p} ("{plugs[p]}" interface) to {slot} '
                        "(no such slot)"
                    )
                if p not in conns:
                    conns[p] = {"slot": f":{slot_name}", "manual": True}
            else:
                conns.pop(p, None)
        record_change(state, f'{"Connect" if connect else "Disconnect"} {plug} {slot}'.strip())
        save_state(state)
        C.discard(name)
    return 0


def cmd_connections(a: Args) -> int:
    """snapd's table: connected plugs; for ``snap connections <snap>`` also its unconnected
    ones (slot ``-``). Notes: ``manual`` for a connection made with ``snap connect``."""
    state = load_state()
    if a.positional and a.positional[0] not in state["snaps"]:
        raise SnapError(f'snap "{a.positional[0]}" is not installed')
    conns: list[tuple[str, str, str, str]] = []
    for name, e in sorted(state["snaps"].items()):
        if a.positional and name not in a.positional:
            continue
        try:
            plugs = _declared_plugs(read_meta(name, e["revision"]))
        except SnapError:
            plugs = {}
        made = e.get("connections") or {}
        for plug, iface in plugs.items():
            if plug in made:
                slot, manual = _slot_of(made[plug])
                conns.append((iface, f"{name}:{plug}", slot, "manual" if manual else "-"))
            elif a.positional or a.get("all"):
                conns.append((iface, f"{name}:{plug}", "-", "-"))
    conns.sort(key=lambda c: (c[0], c[1], c[2]))
    if not conns:
        return 0
    rows = ["Interface\tPlug\tSlot\tNotes"] + ["\t".join(c) for c in conns]
    sys.stdout.write(tabwrite(rows, 5, 2))
    return 0


def _services_for(targets: list[str]) -> list[tuple[dict[str, Any], App]]:
    state = load_state()
    found = []
    names = targets or sorted(state["snaps"])
    for t in names:
        snap_name, _, app_name = t.partition(".")
        entry = state["snaps"].get(snap_name)
        if entry is None:
            raise SnapError(f'snap "{snap_name}" not found' if targets else "")
        meta = read_meta(snap_name, entry["revision"])
        apps = [x for x in apps_of(meta) if x.daemon and (not app_name or x.name == app_name)]
        if app_name and not apps:
            raise SnapError(f'snap "{snap_name}" has no service "{app_name}"')
        if targets and not apps and not app_name:
            raise SnapError(f'snap "{snap_name}" has no services')
        found += [(entry, x) for x in apps]
    return found


def cmd_services(a: Args) -> int:
    svcs = _services_for(a.positional)
    if not svcs:
        err("There are no services provided by installed snaps.")
        return 0
    states = service_states([app.unit for _, app in svcs])
    rows = ["Service\tStartup\tCurrent\tNotes"]
    for _, app in svcs:
        enabled, active = states.get(app.unit, (False, False))
        rows.append(
            f"{app.snap}.{app.name}\t{'enabled' if enabled else 'disabled'}\t"
            f"{'active' if active else 'inactive'}\t-"
        )
    sys.stdout.write(tabwrite(rows, 5, 2))
    return 0


def cmd_service_op(op: str, a: Args) -> int:
    if not a.positional:
        raise SnapError("the required argument `<service> (at least 1 argument)` was not provided")
    with locked():
        svcs = _services_for(a.positional)
        units = [app.unit for _, app in svcs]
        state = load_state()
        if op == "start" and a.get("enable") or op == "stop" and a.get("disable"):
            reply = _systemctl("enable" if op == "start" else "disable", units)
            if reply.get("errors"):
                raise SnapError("; ".join(reply["errors"]))
            for entry, app in svcs:
                e = state["snaps"][entry["name"]]
                dis = set(e.get("disabled-services") or [])
                if op == "start":
                    dis.discard(app.name)
                else:
                    dis.add(app.name)
                e["disabled-services"] = sorted(dis)
            save_state(state)
        _jobs(op, units)
    out({"start": "Started.", "stop": "Stopped.", "restart": "Restarted."}[op])
    return 0


def cmd_enable_disable(a: Args, enable: bool) -> int:
    """``snap enable|disable <snap>``: a disabled snap's services are stopped and disabled."""
    name = _the_snap(a)
    with locked():
        state = load_state()
        entry = installed(state, name)
        meta = read_meta(name, entry["revision"])
        disabled_apps = set(entry.get("disabled-services") or [])
        units = [x.unit for x in apps_of(meta) if x.daemon and x.name not in disabled_apps]
        if enable:
            if units:
                _systemctl("enable", units)
                _jobs("start", units)
        elif units:
            _jobs("stop", units)
            _systemctl("disable", units)
        entry["disabled"] = not enable
        record_change(state, f'{"Enable" if enable else "Disable"} "{name}" snap')
        save_state(state)
    out(f"{name} {'enabled' if enable else 'disabled'}")
    return 0


def cmd_create_cohort(a: Args) -> int:
    """``snap create-cohort <snap>...``: a key the local store accepts (and ignores)."""
    state = load_state()
    store = _store("cannot create cohorts")
    cohorts = {}
    for name in a.positional:
        if store.snap(name) is None and name not in state["snaps"]:
            raise SnapError(f'snap "{name}" not found')
        cohorts[name] = {"cohort-key": f"localjuju-cohort-{name}-{int(time.time())}"}
    out(yaml.safe_dump({"cohorts": cohorts}, sort_keys=False))
    return 0


def cmd_logs(a: Args) -> int:
    from .journalctl import collect

    svcs = _services_for(a.positional)
    n = a.get("n", "10")
    recs = collect([app.unit for _, app in svcs], [])
    if n != "all":
        recs = recs[-int(n) :] if int(n) > 0 else []
    for r in recs:
        stamp = _dt.datetime.fromtimestamp(r.ts, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        out(f"{stamp} {r.ident}[{r.pid}]: {r.message}")
    return 0


def cmd_run(a: Args) -> int:
    if not a.positional:
        raise SnapError("need the application to run as argument")
    target, args = a.positional[0], a.positional[1:]
    snap_name, _, app_name = target.partition(".")
    app_name = app_name or snap_name
    state = load_state()
    entry = state["snaps"].get(snap_name)
    if entry is None:
        raise SnapError(
            f"cannot find current revision for snap {snap_name}: readlink "
            f"/snap/{snap_name}/current: no such file or directory"
        )
    rev = entry["revision"]
    meta = read_meta(snap_name, rev)
    app = next((x for x in apps_of(meta) if x.name == app_name), None)
    if app is None:
        raise SnapError(f'cannot find app "{app_name}" in "{snap_name}"')
    env = dict(os.environ)
    env.update(app_environment(meta, rev, app, user_home()))
    for d in (env["SNAP_USER_DATA"], env["SNAP_USER_COMMON"]):
        os.makedirs(d, exist_ok=True)
    argv = app_argv(meta, rev, app, env)
    p = profile(meta, rev, app)
    p.plugs = C.connected_plugs(entry, meta, app.name)
    p.uid = os.getuid()
    try:
        C.exec_confined(p, argv + args, env)
    except C.ConfineError as e:
        raise SnapError(f"cannot run {target}: {e}") from e
    except OSError as e:
        raise SnapError(f"cannot run {target}: {argv[0]}: {e.strerror}") from e
    return 1


def cmd_debug(a: Args) -> int:
    """``snap debug localjuju-auto-refresh``: the machine's snapd.service runs it when an
    automatic refresh is due."""
    if a.positional[:1] == ["localjuju-auto-refresh"]:
        return auto_refresh()
    raise SnapError(f"unknown command {' '.join(a.positional[:1])!r}, see 'snap help debug'.")


def cmd_version(a: Args) -> int:
    rel = "22.04"
    try:
        with open(mpath("/etc/os-release"), encoding="utf-8") as f:
            m = re.search(r'^VERSION_ID="?([^"\n]+)', f.read(), re.M)
            if m:
                rel = m.group(1)
    except OSError:
        pass
    rows = [
        f"snap\t{SNAPD_VERSION}",
        f"snapd\t{SNAPD_VERSION}",
        "series\t16",
        f"ubuntu\t{rel}",
        f"kernel\t{os.uname().release}",
        f"architecture\t{S.host_architecture()}",
    ]
    sys.stdout.write(tabwrite(rows, 2, 1))
    return 0


def cmd_changes(a: Args) -> int:
    state = load_state()
    changes = state["changes"]
    if not changes:
        err("No changes found.")
        return 0
    rows = ["ID\tStatus\tSpawn\tReady\tSummary"]
    for c in changes:
        spawn = human_time(_dt.datetime.fromisoformat(c["spawn"]).timestamp())
        ready = human_time(_dt.datetime.fromisoformat(c["ready"]).timestamp())
        rows.append(f"{c['id']}\t{c['status']}\t{spawn}\t{ready}\t{c['summary']}")
    sys.stdout.write(tabwrite(rows, 5, 2) + "\n")
    return 0


def cmd_find(a: Args) -> int:
    try:
        store = _store(method="GET", path="v2/snaps/find")
    except StoreUnreachableError:
        raise SnapError("unable to contact snap store") from None  # cmd_find.go
    query = " ".join(a.positional)
    rows = ["Name\tVersion\tPublisher\tNotes\tSummary"]
    for name, snap in sorted(store.snaps.items()):
        if query and query not in name and query not in snap.meta.get("summary", ""):
            continue
        ce = snap.channels.get("latest/stable") or next(iter(snap.channels.values()))
        rows.append(
            f"{name}\t{ce.version}\t{publisher_short(snap.publisher())}\t-\t"
            f"{snap.meta.get('summary', '')}"
        )
    if len(rows) == 1:
        raise SnapError(f'No matching snaps for "{query}"')
    sys.stdout.write(tabwrite(rows, 5, 2))
    return 0


HELP = """The snap command lets you install, configure, refresh and remove snaps.
This is the local model's snap: it installs from the model's local snap store.

Usage: snap <command> [<options>...]

Commands: install refresh revert remove list info get set unset connect disconnect
connections services start stop restart logs enable disable run version changes wait find
create-cohort help
"""


def run(argv: list[str]) -> int:
    if not argv or argv[0] in ("help", "--help", "-h"):
        out(HELP)
        return 0
    if argv[0] == "--version":
        argv = ["version"]
    cmd, rest = argv[0], argv[1:]
    if cmd == "run":
        # everything after the app name belongs to the app
        opts = []
        while rest and rest[0].startswith("-"):
            opts.append(rest.pop(0))
        a = Args(rest, {o.lstrip("-"): True for o in opts})
        return cmd_run(a)
    a = parse(rest)
    table = {
        "install": cmd_install,
        "refresh": cmd_refresh,
        "revert": cmd_revert,
        "remove": cmd_remove,
        "list": cmd_list,
        "info": cmd_info,
        "get": cmd_get,
        "set": cmd_set,
        "unset": lambda x: cmd_set(x, unset=True),
        "connect": cmd_connect,
        "disconnect": lambda x: cmd_connect(x, connect=False),
        "connections": cmd_connections,
        "services": cmd_services,
        "start": lambda x: cmd_service_op("start", x),
        "stop": lambda x: cmd_service_op("stop", x),
        "restart": lambda x: cmd_service_op("restart", x),
        "logs": cmd_logs,
        "enable": lambda x: cmd_enable_disable(x, enable=True),
        "disable": lambda x: cmd_enable_disable(x, enable=False),
        "create-cohort": cmd_create_cohort,
        "version": cmd_version,
        "changes": cmd_changes,
        "find": cmd_find,
        "debug": cmd_debug,
        "wait": lambda x: 0,
        "ack": lambda x: 0,
        "known": lambda x: 0,
    }
    fn = table.get(cmd)
    if fn is None:
        raise SnapError(f"unknown command \"{cmd}\", see 'snap help'.")
    return fn(a)


def main(argv: list[str] | None = None) -> int:
    try:
        return run(list(sys.argv[1:] if argv is None else argv))
    except Notice as n:
        err(str(n))
        return 0
    except SnapError as e:
        if str(e):
            err(f"error: {e}")
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
