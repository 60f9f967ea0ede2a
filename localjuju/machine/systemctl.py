"""``systemctl`` for a local-model machine: a client of the supervisor's socket.

Commands: start, stop, restart, try-restart, condrestart, reload, force-reload,
reload-or-restart, try-reload-or-restart, is-active, is-failed, is-enabled, status, show, cat,
enable [--now], disable [--now], mask [--now], unmask, daemon-reload, daemon-reexec,
reset-failed, kill [-s SIG] [--kill-whom=main|control|all], list-units, list-timers [--all],
list-unit-files,
is-system-running, poweroff/halt (stop every unit and end the machine). Output and exit codes follow systemd 249 (Ubuntu 22.04).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from typing import Any

from . import SYSTEMD_SOCKET, mpath
from . import calendar as C
from . import units as U
from .journalctl import format_short

NOT_BOOTED = "System has not been booted with systemd as init system (PID 1). Can't operate."
NO_BUS = "Failed to connect to bus: Host is down"


class SystemdError(Exception):
    """The supervisor refused a request (the message says why)."""


class SystemdUnavailable(SystemdError):
    """The machine's supervisor is not running (no socket)."""


class SystemdDenied(SystemdError):
    """The caller is not root and the request changes something (polkit's answer to a
    non-interactive caller)."""


def request(op: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
    """Send one request to the supervisor and return its reply."""
    path = mpath(SYSTEMD_SOCKET)
    if not os.path.exists(path):
        raise SystemdUnavailable(NOT_BOOTED)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        try:
            s.connect(path)
        except (ConnectionRefusedError, FileNotFoundError) as e:
            raise SystemdUnavailable(NOT_BOOTED) from e
        s.sendall(json.dumps({"op": op, **fields}).encode() + b"\n")
        buf = bytearray()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf.extend(chunk)
    finally:
        s.close()
    if not buf:
        raise SystemdUnavailable(NO_BUS)
    reply = json.loads(bytes(buf))
    if not isinstance(reply, dict):
        raise SystemdError("bad reply from the supervisor")
    if "error" in reply:
        if reply.get("denied"):
            raise SystemdDenied(str(reply["error"]))
        raise SystemdError(str(reply["error"]))
    return reply


def available() -> bool:
    try:
        return bool(request("ping", timeout=5.0).get("ok"))
    except (SystemdError, OSError, ValueError):
        return False


def show(unit: str) -> dict[str, str]:
    """All properties of ``unit`` (as ``systemctl show``)."""
    return request("show", units=[unit])["units"][0]["props"]


# ---------------------------------------------------------------------------------------------
# Messages


FAIL_REASONS = {
    "exit-code": "the control process exited with error code",
    "signal": "a fatal signal was delivered to the control process",
    "core-dump": "a fatal signal was delivered causing the control process to dump core",
    "timeout": "a timeout was exceeded",
    "start-limit-hit": "start of the service was attempted too often",
    "resources": "of unavailable resources or another system error",
}
RELOAD_WARNING = (
    "Warning: The unit file, source configuration file or drop-ins of {unit} changed on disk. "
    "Run 'systemctl daemon-reload' to reload units."
)


def job_messages(verb: str, results: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """(exit code, stderr lines) for the results of a job request."""
    rc = 0
    lines = []
    for r in results:
        unit = r["unit"]
        if r.get("warning") == "need-daemon-reload":
            lines.append(RELOAD_WARNING.format(unit=unit))
        if r.get("ok"):
            continue
        err = r.get("error")
        if err == "not-found":
            lines.append(f"Failed to {verb} {unit}: Unit {unit} not found.")
            rc = max(rc, 5)
        elif err == "not-loaded":
            lines.append(f"Failed to {verb} {unit}: Unit {unit} not loaded.")
            rc = max(rc, 5)
        elif err == "masked":
            lines.append(f"Failed to {verb} {unit}: Unit {unit} is masked.")
            rc = max(rc, 1)
        elif err == "bad-setting":
            lines.append(f"Failed to {verb} {unit}: Unit {unit} has a bad unit file setting.")
            if r.get("message"):
                lines.append(f"{unit}: {r['message']}")
            rc = max(rc, 1)
        elif err == "reload-not-applicable":
            lines.append(
                f"Failed to {verb} {unit}: Job type reload is not applicable for unit {unit}."
            )
            rc = max(rc, 1)
        elif err == "not-active":
            lines.append(f"Failed to {verb} {unit}: Unit {unit} is not active.")
            rc = max(rc, 1)
        elif err == "canceled":
            lines.append(f"Job for {unit} canceled.")
            rc = max(rc, 1)
        else:
            reason = FAIL_REASONS.get(r.get("result") or "", FAIL_REASONS["exit-code"])
            lines.append(
                f"Job for {unit} failed because {reason}.\n"
                f'See "systemctl status {unit}" and "journalctl -xeu {unit}" for details.'
            )
            rc = max(rc, 1)
    return rc, lines


def change_messages(changes: list[list[str]]) -> list[str]:
    out = []
    for kind, path, target in changes:
        if kind == "symlink":
            out.append(f"Created symlink {path} \u2192 {target}.")
        else:
            out.append(f"Removed {path}.")
    return out


NO_INSTALL = """The unit files have no installation config (WantedBy=, RequiredBy=, Also=,
Alias= settings in the [Install] section, and DefaultInstance= for template
units). This means they are not meant to be enabled using systemctl.

Possible reasons for having this kind of units are:
\u2022 A unit may be statically enabled by being symlinked from another unit's
  .wants/ or .requires/ directory.
\u2022 A unit's purpose may be to act as a helper for some other unit which has
  a requirement dependency on it.
\u2022 A unit may be started when needed via activation (socket, path, timer,
  D-Bus, udev, scripted systemctl call, ...).
\u2022 In case of template units, the unit is meant to be enabled with some
  instance name specified."""


# ---------------------------------------------------------------------------------------------
# status


def _since(props: dict[str, str], key: str) -> str:
    epoch = float(props.get(key + "Epoch") or 0)
    if not epoch:
        return ""
    return f" since {U.format_timestamp(epoch)}; {U.format_ago(epoch)}"


def status_text(item: dict[str, Any], lines: int, hostname: str) -> tuple[str, int]:
    """(``systemctl status`` text for one unit, exit code: 0 active, 3 not, 4 not found)."""
    props = item["props"]
    name = item["name"]
    load = props["LoadState"]
    active, sub = props["ActiveState"], props["SubState"]
    if load == "not-found" and active in ("inactive", "failed") and not props.get("Job"):
        if not U.read_journal(name):
            return f"Unit {name} could not be found.", 4
    dot = {"active": "\u25cf", "reloading": "\u25cf", "failed": "\u00d7"}.get(active, "\u25cb")
    if active in ("activating", "deactivating"):
        dot = "\u25cf"
    head = f"{dot} {name}"
    if props.get("Description") and load == "loaded":
        head += f" - {props['Description']}"
    out = [head]
    if load == "loaded":
        state = props.get("UnitFileState") or "disabled"
        out.append(
            f"     Loaded: loaded ({props['FragmentPath']}; {state}; "
            f"vendor preset: {props.get('UnitFilePreset') or 'enabled'})"
        )
    elif load == "masked":
        out.append(f"     Loaded: masked (Reason: Unit {name} is masked.)")
    elif load == "not-found":
        out.append(f"     Loaded: not-found (Reason: Unit {name} not found.)")
    else:
        out.append(f"     Loaded: {load} (Reason: {props.get('LoadError', '')})")
    dropins = [p for p in (props.get("DropInPaths") or "").split() if p]
    if dropins:
        by_dir: dict[str, list[str]] = {}
        for p in dropins:
            by_dir.setdefault(os.path.dirname(p), []).append(os.path.basename(p))
        first = True
        for d, files in by_dir.items():
            out.append(f"{'    Drop-In: ' if first else '             '}{d}")
            first = False
            for i, f in enumerate(files):
                out.append(f"             {'└─' if i == len(files) - 1 else '├─'}{f}")
    result = props.get("Result", "success")
    if active in ("active", "reloading"):
        desc = f"{active} ({sub}){_since(props, 'ActiveEnterTimestamp')}"
    elif active == "failed":
        desc = f"failed (Result: {result}){_since(props, 'InactiveEnterTimestamp')}"
    elif active == "inactive":
        desc = f"inactive ({sub}){_since(props, 'InactiveEnterTimestamp')}"
    else:
        extra = f" (Result: {result})" if result != "success" else ""
        desc = f"{active} ({sub}){extra}"
    out.append(f"     Active: {desc}")
    if name.endswith(".timer"):
        nxt = int(props.get("NextElapseUSecRealtimeEpoch") or 0)
        if nxt and active == "active":
            now = time.time_ns() // 1000
            out.append(
                f"    Trigger: {C.format_timestamp_usec(nxt)}; {C.format_relative(nxt, now)}"
            )
        else:
            out.append("    Trigger: n/a")
        out.append(f"   Triggers: \u25cf {props.get('Triggers', '')}")
    main = int(props.get("MainPID") or 0)
    if main:
        out.append(f"   Main PID: {main} ({item.get('main_comm') or '?'})")
    elif int(props.get("ExecMainPID") or 0) and active not in ("active", "reloading"):
        code = int(props.get("ExecMainCode") or 0)
        status = int(props.get("ExecMainStatus") or 0)
        if code:
            kind = {1: "exited", 2: "killed", 3: "dumped"}[code]
            if code == 1:
                st = f"{status}/{'SUCCESS' if status == 0 else 'FAILURE'}"
            else:
                st = f"{status}/{signal.Signals(status).name[3:]}"
            out.append(f"   Main PID: {props['ExecMainPID']} (code={kind}, status={st})")
    procs = item.get("processes") or []
    if procs:
        out.append(f"      Tasks: {len(procs)} (limit: 4915)")
        out.append(f"     CGroup: /system.slice/{name}")
        for i, (pid, cmd) in enumerate(procs):
            branch = "└─" if i == len(procs) - 1 else "├─"
            out.append(f"             {branch}{pid} {cmd}")
    if lines > 0:
        recs = U.read_journal(name)[-lines:]
        if recs:
            out.append("")
            out.extend(format_short(r, hostname) for r in recs)
    if props.get("NeedDaemonReload") == "yes":
        out.append("")
        out.append(RELOAD_WARNING.format(unit=name))
    rc = 0 if active in ("active", "reloading") else 3
    return "\n".join(out), rc


# ---------------------------------------------------------------------------------------------
# The command


class Options:
    def __init__(self) -> None:
        self.quiet = False
        self.no_block = False
        self.now = False
        self.all = False
        self.value = False
        self.no_legend = False
        self.no_reload = False
        self.types: list[str] = []
        self.states: list[str] = []
        self.properties: list[str] = []
        self.signal = int(signal.SIGTERM)
        self.whom = "all"
        self.lines = 10


WITH_VALUE = {
    "-p": "property",
    "--property": "property",
    "-t": "type",
    "--type": "type",
    "--state": "state",
    "-s": "signal",
    "--signal": "signal",
    "--kill-whom": "whom",
    "--kill-who": "whom",
    "-n": "lines",
    "--lines": "lines",
    "-H": "host",
    "--host": "host",
    "-M": "machine",
    "--machine": "machine",
    "-o": "output",
    "--output": "output",
}
FLAGS = {
    "-q": "quiet",
    "--quiet": "quiet",
    "--no-block": "no_block",
    "--now": "now",
    "-a": "all",
    "--all": "all",
    "--value": "value",
    "--no-legend": "no_legend",
    "--no-reload": "no_reload",
}
IGNORED = {
    "--no-pager",
    "--system",
    "--plain",
    "-l",
    "--full",
    "--no-ask-password",
    "-f",
    "--force",
    "--runtime",
    "--wait",
    "--show-types",
    "-r",
    "--recursive",
}


def parse_args(argv: list[str]) -> tuple[Options, list[str]]:
    opts = Options()
    rest: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest.extend(argv[i + 1 :])
            break
        if not a.startswith("-") or a == "-":
            rest.append(a)
            i += 1
            continue
        key, eq, val = a.partition("=")
        if key in WITH_VALUE:
            if not eq:
                if a.startswith("--") or len(a) == 2:
                    i += 1
                    if i >= len(argv):
                        raise ValueError(f"option '{key}' requires an argument")
                    val = argv[i]
            _set(opts, WITH_VALUE[key], val)
        elif len(a) > 2 and not a.startswith("--") and a[:2] in WITH_VALUE:
            _set(opts, WITH_VALUE[a[:2]], a[2:])
        elif a in FLAGS:
            setattr(opts, FLAGS[a], True)
        elif a in IGNORED:
            pass
        elif not a.startswith("--") and all(f"-{c}" in FLAGS or f"-{c}" in IGNORED for c in a[1:]):
            for c in a[1:]:
                if f"-{c}" in FLAGS:
                    setattr(opts, FLAGS[f"-{c}"], True)
        else:
            raise ValueError(f"unrecognized option '{a}'")
        i += 1
    return opts, rest


def _set(opts: Options, what: str, val: str) -> None:
    if what == "property":
        opts.properties.extend(p for p in val.split(",") if p)
    elif what == "type":
        opts.types.extend(val.split(","))
    elif what == "state":
        opts.states.extend(val.split(","))
    elif what == "signal":
        opts.signal = U.parse_signal(val)
    elif what == "whom":
        if val not in ("main", "control", "all"):
            raise ValueError(f"Unknown kill whom {val!r}")
        opts.whom = val
    elif what == "lines":
        opts.lines = int(val)
    elif what in ("host", "machine"):
        raise ValueError("remote and container operation is not supported here")


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


VERBS = {
    "start": "start",
    "stop": "stop",
    "restart": "restart",
    "try-restart": "try-restart",
    "condrestart": "try-restart",
    "reload": "reload",
    "force-reload": "try-reload-or-restart",
    "reload-or-restart": "reload-or-restart",
    "try-reload-or-restart": "try-reload-or-restart",
}


def run(argv: list[str]) -> int:
    if argv and argv[0] in ("--version",):
        print("systemd 249 (249.11-localjuju)")
        return 0
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    try:
        opts, args = parse_args(argv)
    except (ValueError, U.UnitError) as e:
        _err(f"systemctl: {e}")
        return 1
    if not args:
        args = ["list-units"]
    cmd, names = args[0], args[1:]
    try:
        units = (
            [U.unit_name(n) for n in names]
            if cmd not in ("list-units", "show", "list-timers")
            else names
        )
    except U.UnitError as e:
        _err(f"Failed to mangle name: {e}")
        return 1
    try:
        return _dispatch(cmd, units, opts)
    except SystemdDenied as e:
        _err(denied_message(cmd, units, str(e)))
        return 1
    except SystemdError as e:
        _err(str(e))
        return 1
    except OSError as e:
        _err(f"Failed to connect to the service manager: {e}")
        return 1


def _dispatch(cmd: str, units: list[str], opts: Options) -> int:
    if cmd in VERBS:
        if not units:
            _err("Too few arguments.")
            return 1
        reply = request(VERBS[cmd], units=units, no_block=opts.no_block)
        verb = "reload" if cmd == "reload" else cmd
        rc, lines = job_messages(verb, reply["results"])
        for line in lines:
            _err(line)
        return rc
    if cmd in ("is-active", "is-failed"):
        if not units:
            _err("Too few arguments.")
            return 1
        reply = request("show", units=units)
        hit = False
        for u in reply["units"]:
            state = u["props"]["ActiveState"]
            if not opts.quiet:
                print(state)
            if cmd == "is-active" and state in ("active", "reloading"):
                hit = True
            if cmd == "is-failed" and state == "failed":
                hit = True
        if hit:
            return 0
        return 3 if cmd == "is-active" else 1
    if cmd == "is-enabled":
        if not units:
            _err("Too few arguments.")
            return 1
        reply = request("is-enabled", units=units)
        rc = 1
        for name, state in reply["states"]:
            if state == "not-found":
                _err(f"Failed to get unit file state for {name}: No such file or directory")
                continue
            if not opts.quiet:
                print(state)
            if state in ("enabled", "static", "alias", "indirect", "generated", "linked"):
                rc = 0
        return rc
    if cmd == "status":
        if not units:
            return _dispatch("list-units", [], opts)
        reply = request("status", units=units)
        hostname = socket.gethostname()
        rc = 0
        texts = []
        for item in reply["units"]:
            text, code = status_text(item, opts.lines, hostname)
            if code == 4:
                _err(text)
            else:
                texts.append(text)
            rc = max(rc, code)
        if texts:
            print("\n\n".join(texts))
        return rc
    if cmd == "show":
        names = [U.unit_name(n) for n in units]
        if not names:
            print("Version=249\nSystemState=running")
            return 0
        reply = request("show", units=names)
        blocks = []
        for item in reply["units"]:
            props = item["props"]
            keys = opts.properties or list(props)
            lines = []
            for k in keys:
                if k not in props and opts.properties:
                    if opts.value:
                        lines.append("")
                    continue
                v = props.get(k, "")
                if not opts.properties and v == "" and not opts.all:
                    continue
                lines.append(v if opts.value else f"{k}={v}")
            blocks.append("\n".join(lines))
        print("\n\n".join(blocks))
        return 0
    if cmd == "cat":
        rc = 0
        reply = request("show", units=units)
        first = True
        for item in reply["units"]:
            props = item["props"]
            files = [props.get("FragmentPath")] + (props.get("DropInPaths") or "").split()
            files = [f for f in files if f]
            if not files:
                _err(f"No files found for {item['name']}.")
                rc = 1
                continue
            for f in files:
                if not first:
                    print()
                first = False
                print(f"# {f}")
                try:
                    with open(mpath(f), encoding="utf-8") as fh:
                        sys.stdout.write(fh.read())
                except OSError as e:
                    _err(f"Failed to read {f}: {e.strerror}")
                    rc = 1
        return rc
    if cmd in ("enable", "disable", "mask", "unmask", "reenable"):
        if not units:
            _err("Too few arguments.")
            return 1
        if cmd == "reenable":
            request("disable", units=units, no_reload=True)
            cmd = "enable"
        reply = request(cmd, units=units, no_reload=opts.no_reload)
        if not opts.quiet:
            for line in change_messages(reply["changes"]):
                _err(line)
        if reply["errors"]:
            for error in reply["errors"]:
                _err(f"Failed to {cmd} unit: {error}")
            return 1
        if reply.get("no_install") and not opts.quiet:
            print(NO_INSTALL)
        if opts.now and cmd in ("enable", "disable", "mask"):
            job = "start" if cmd == "enable" else "stop"
            reply = request(job, units=units, no_block=opts.no_block)
            rc, lines = job_messages(job, reply["results"])
            for line in lines:
                _err(line)
            return rc
        return 0
    if cmd in ("daemon-reload", "daemon-reexec"):
        request("daemon-reload")
        return 0
    if cmd == "reset-failed":
        request("reset-failed", units=units)
        return 0
    if cmd == "kill":
        if not units:
            _err("Too few arguments.")
            return 1
        reply = request("kill", units=units, signal=opts.signal, whom=opts.whom)
        rc = 0
        for r in reply["results"]:
            if r.get("error") == "not-loaded":
                _err(f"Failed to kill unit {r['unit']}: Unit {r['unit']} not loaded.")
                rc = 1
        return rc
    if cmd == "list-units":
        reply = request("list-units")
        rows = []
        for u in reply["units"]:
            if opts.types and not any(u["unit"].endswith("." + t) for t in opts.types):
                continue
            if opts.states and not {u["load"], u["active"], u["sub"]} & set(opts.states):
                continue
            if not opts.all and not opts.states and u["active"] == "inactive":
                continue
            if units and not any(_match(p, u["unit"]) for p in units):
                continue
            rows.append(u)
        return _print_units(rows, opts)
    if cmd == "list-timers":
        reply = request("list-timers")
        timers = [
            t for t in reply["timers"] if not units or any(_match(p, t["unit"]) for p in units)
        ]
        print(list_timers_text(timers, opts))
        return 0
    if cmd == "list-unit-files":
        reply = request("list-unit-files")
        files = reply["files"]
        if not opts.no_legend:
            w = max([len("UNIT FILE")] + [len(n) for n, _ in files])
            print(f"{'UNIT FILE'.ljust(w)} STATE           VENDOR PRESET")
        for name, state in files:
            w = max([len("UNIT FILE")] + [len(n) for n, _ in files])
            print(f"{name.ljust(w)} {state.ljust(15)} enabled")
        if not opts.no_legend:
            print(f"\n{len(files)} unit files listed.")
        return 0
    if cmd in ("poweroff", "halt"):
        request("poweroff")
        return 0
    if cmd in ("reboot", "kexec", "suspend", "hibernate"):
        _err(f"Failed to {cmd} the machine: not supported by the local model's machines.")
        return 1
    if cmd == "is-system-running":
        request("ping")
        if not opts.quiet:
            print("running")
        return 0
    _err(f"Unknown command verb {cmd}.")
    return 1


def denied_message(cmd: str, units: list[str], reason: str) -> str:
    """What systemctl 249 prints when polkit refuses a non-interactive caller (exit 1):
    ``Failed to start x.service: Interactive authentication required.`` and the hint for job
    verbs (systemctl-start-unit.c, read at systemd/systemd; the exit status is 1, as
    translate_bus_error_to_exit_status() maps no polkit error), ``Failed to enable unit: ...``
    for unit files,
    ``Failed to reload daemon: ...`` for daemon-reload."""
    unit = units[0] if units else ""
    if cmd in VERBS:  # one refusal per unit (systemctl-start-unit.c start_unit_one())
        return "\n".join(
            f"Failed to {cmd} {u}: {reason}\n"
            f"See system logs and 'systemctl status {u}' for details."
            for u in units
        )
    if cmd in ("enable", "disable", "mask", "unmask", "reenable"):
        return f"Failed to {cmd} unit: {reason}"
    if cmd in ("daemon-reload", "daemon-reexec"):
        return f"Failed to {'reload' if cmd == 'daemon-reload' else 'reexecute'} daemon: {reason}"
    if cmd == "kill":
        return f"Failed to kill unit {unit}: {reason}"
    if cmd == "reset-failed":
        return f"Failed to reset failed state of unit {unit}: {reason}"
    if cmd in ("poweroff", "halt"):
        return f"Failed to {'power off' if cmd == 'poweroff' else 'halt'} system: {reason}"
    return f"Failed to {cmd}: {reason}"


def list_timers_text(timers: list[dict[str, Any]], opts: Options) -> str:
    """``systemctl list-timers`` as systemd 249 prints it (systemctl.c output_timers_list():
    printf columns, a timestamp column one wider than its widest entry, ``n/a`` for none)."""
    rows = []
    for t in timers:
        if not opts.all and t["active"] != "active":
            continue
        now = int(t["now"])
        nxt, last = int(t["next"] or 0), int(t["last"] or 0)
        rows.append(
            (
                nxt,
                C.format_timestamp_usec(nxt) if nxt else "n/a",
                C.format_relative(nxt, now) if nxt else "n/a",
                C.format_timestamp_usec(last) if last else "n/a",
                C.format_relative(last, now) if last else "n/a",
                t["unit"],
                t["activates"],
            )
        )
    rows.sort(key=lambda r: (r[0] == 0, r[0], r[5]))
    nextlen = max([len("NEXT")] + [len(r[1]) + 1 for r in rows])
    leftlen = max([len("LEFT")] + [len(r[2]) for r in rows])
    lastlen = max([len("LAST")] + [len(r[3]) + 1 for r in rows])
    passedlen = max([len("PASSED")] + [len(r[4]) for r in rows])
    unitlen = max([len("UNIT")] + [len(r[5]) for r in rows])
    out = []

    def line(a: str, b: str, c: str, d: str, e: str, f: str) -> str:
        return (
            f"{a.ljust(nextlen)} {b.ljust(leftlen)} {c.ljust(lastlen)} "
            f"{d.ljust(passedlen)} {e.ljust(unitlen)} {f}"
        )

    if not opts.no_legend:
        out.append(line("NEXT", "LEFT", "LAST", "PASSED", "UNIT", "ACTIVATES"))
    for r in rows:
        out.append(line(*r[1:]))
    if not opts.no_legend:
        out.append("")
        out.append(f"{len(rows)} timers listed.")
        if not opts.all:
            out.append("Pass --all to see loaded but inactive timers, too.")
    return "\n".join(out)


def _match(pattern: str, name: str) -> bool:
    import fnmatch

    return fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(name, U.unit_name(pattern))


def _print_units(rows: list[dict[str, str]], opts: Options) -> int:
    headers = ("UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION")
    table = [(r["unit"], r["load"], r["active"], r["sub"], r["description"]) for r in rows]
    widths = [max([len(h)] + [len(t[i]) for t in table]) for i, h in enumerate(headers)]

    def fmt(cells: tuple[str, ...], mark: str) -> str:
        body = " ".join(c.ljust(widths[i]) for i, c in enumerate(cells[:4]))
        return f"{mark} {body} {cells[4]}".rstrip()

    if not opts.no_legend:
        print(fmt(headers, " "))
    for t in table:
        print(fmt(t, "\u25cf" if t[2] == "failed" else " "))
    if not opts.no_legend:
        print()
        print("LOAD   = Reflects whether the unit definition was properly loaded.")
        print("ACTIVE = The high-level unit activation state, i.e. generalization of SUB.")
        print("SUB    = The low-level unit activation state, values depend on unit type.")
        n = len(table)
        if opts.all:
            print(f"{n} loaded units listed.")
        else:
            print(f"{n} loaded units listed. Pass --all to see loaded but inactive units, too.")
        print("To show all installed unit files use 'systemctl list-unit-files'.")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


def wait_for(predicate: Any, timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


if __name__ == "__main__":
    sys.exit(main())
