"""The machine's service manager: a small systemd stand-in (the engine behind ``init``).

One thread, one event loop: child exits (SIGCHLD), the control socket, the services' output pipes
and timers all arrive through a selector. Jobs (start, stop, restart, automatic restarts, client
requests) are generators that yield what they wait for (:class:`WaitPid`, :class:`Sleep`,
:class:`WaitTask`), so the code reads sequentially while nothing ever blocks the loop.

A unit's processes are its sessions: every process it spawns starts a new session, and the
unit's "control group" is every process in those sessions (found in ``/proc``).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import errno
import functools
import heapq
import itertools
import json
import os
import resource
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from . import NOTIFY_SOCKET, READY_FILE, SERVICE_PATH, SYSTEMD_SOCKET, mpath
from . import calendar as CAL
from . import timers as TM
from . import tmpfiles as TMPF
from . import units as U

EXIT_EXEC = 203
EXIT_CHDIR = 200
EXIT_USER = 217
CLEAN_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE)
PR_SET_CHILD_SUBREAPER = 36

# ---------------------------------------------------------------------------------------------
# Tasks


@dataclass
class WaitPid:
    """Resume with the wait status of ``pid``, or None after ``timeout`` seconds."""

    pid: int
    timeout: float | None = None


@dataclass
class Sleep:
    seconds: float


@dataclass
class WaitTask:
    task: Task


@dataclass
class WaitReady:
    """Resume with :data:`READY` when ``unit``'s main process ``pid`` sends ``READY=1``, with
    its wait status if it exits first, or None after ``timeout`` seconds (Type=notify)."""

    unit: str
    pid: int
    timeout: float | None = None


READY = "ready"


CANCELED = "canceled"
TaskGen = Generator[Any, Any, Any]


class Task:
    _ids = itertools.count(1)

    def __init__(self, gen: TaskGen, kind: str, unit: str = "") -> None:
        self.id = next(self._ids)
        self.gen = gen
        self.kind = kind
        self.unit = unit
        self.done = False
        self.result: Any = None
        self.waiters: list[Task] = []
        self.callbacks: list[Callable[[Task], None]] = []
        self.waiting_pid: int | None = None
        self.waiting_ready: str | None = None
        self.timer: Timer | None = None

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.kind} {self.unit}>"


@dataclass(order=True)
class Timer:
    when: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


# ---------------------------------------------------------------------------------------------
# Units at run time


@dataclass
class Unit:
    name: str
    config: U.UnitConfig
    active_state: str = "inactive"
    sub_state: str = "dead"
    result: str = "success"
    main_pid: int = 0
    control_pid: int = 0
    exec_main_pid: int = 0
    exec_main_start: float = 0.0
    exec_main_exit: float = 0.0
    exec_main_code: int = 0  # 0 none, 1 exited, 2 killed, 3 dumped
    exec_main_status: int = 0
    n_restarts: int = 0
    state_change: float = 0.0
    active_enter: float = 0.0
    active_exit: float = 0.0
    inactive_enter: float = 0.0
    inactive_exit: float = 0.0
    invocation_id: str = ""
    starts: collections.deque[float] = field(default_factory=collections.deque)
    sessions: set[int] = field(default_factory=set)
    job: Task | None = None
    last_main_status: int | None = None
    notified_ready: bool = False
    status_text: str = ""
    inactive_exit_monotonic: float = 0.0
    inactive_enter_monotonic: float = 0.0
    # a .timer unit's state (see localjuju.machine.timers)
    activated_monotonic: float = 0.0
    activated_realtime: int = 0
    last_trigger_monotonic: float = 0.0
    last_trigger_realtime: int = 0
    timer_disabled: set[int] = field(default_factory=set)
    timer_handle: Timer | None = None
    timer_plan: TM.Plan | None = None

    @property
    def idle(self) -> bool:
        return (
            self.active_state in ("inactive", "failed")
            and (self.job is None or self.job.done)
            and not self.main_pid
            and not self.control_pid
        )


def describe_status(status: int) -> tuple[int, int, str]:
    """(code, status, text) like systemd: (1, 3, 'code=exited, status=3/NOTIMPLEMENTED')."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        code = 3 if os.WCOREDUMP(status) else 2
        name = signal.Signals(sig).name[3:] if sig in signal.Signals._value2member_map_ else sig
        kind = "dumped" if code == 3 else "killed"
        return code, sig, f"code={kind}, status={sig}/{name}"
    rc = os.WEXITSTATUS(status)
    names = {
        0: "SUCCESS",
        1: "FAILURE",
        2: "INVALIDARGUMENT",
        3: "NOTIMPLEMENTED",
        4: "NOPERMISSION",
        5: "NOTINSTALLED",
        6: "NOTCONFIGURED",
        7: "NOTRUNNING",
        200: "CHDIR",
        203: "EXEC",
        217: "USER",
    }
    suffix = f"/{names[rc]}" if rc in names else ""
    return 1, rc, f"code=exited, status={rc}{suffix}"


def _exit_clean(status: int, success_codes: list[int], daemon: bool) -> bool:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if -sig in success_codes:
            return True
        return daemon and sig in CLEAN_SIGNALS
    rc = os.WEXITSTATUS(status)
    return rc == 0 or rc in success_codes


def _should_restart(policy: str, result: str, status: int | None) -> bool:
    if policy == "always":
        return True
    if policy == "no":
        return False
    if policy == "on-success":
        return result == "success"
    if policy == "on-failure":
        return result != "success"
    if policy == "on-abnormal":
        return result in ("signal", "core-dump", "timeout", "watchdog")
    if policy == "on-abort":
        return result in ("signal", "core-dump")
    return False


def _main_result(status: int, cfg: U.UnitConfig) -> str:
    """The Result= of a service whose main process ended with ``status``."""
    if _exit_clean(status, cfg.success_exit_status, daemon=True):
        return "success"
    if os.WIFSIGNALED(status):
        return "core-dump" if os.WCOREDUMP(status) else "signal"
    return "exit-code"


def _may_raise_limits() -> bool:
    """True when this process has CAP_SYS_RESOURCE (may raise a hard resource limit)."""
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> 24 & 1)
    except (OSError, ValueError):
        pass
    return os.geteuid() == 0


def session_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rfind(")") + 2 :].split()
    # fields after comm: state ppid pgrp session ...
    if len(rest) < 4 or rest[0] == "Z":
        return None
    return int(rest[3])


def processes_in_sessions(sessions: set[int]) -> list[int]:
    if not sessions:
        return []
    pids = []
    me = os.getpid()
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        pid = int(e)
        if pid == me:
            continue
        if session_of(pid) in sessions:
            pids.append(pid)
    return sorted(pids)


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return ""
    return " ".join(p.decode(errors="replace") for p in raw.rstrip(b"\0").split(b"\0"))


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------
# The manager


class JobFailed(Exception):
    pass


class Manager:
    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}
        self.sel = selectors.DefaultSelector()
        self.timers: list[Timer] = []
        self._timer_seq = itertools.count()
        self.ready: collections.deque[tuple[Task, Any]] = collections.deque()
        self.pid_waiters: dict[int, Task] = {}
        self.ready_waiters: dict[str, Task] = {}  # unit -> its start job waiting for READY=1
        self._capped_nofile: set[str] = set()
        self.notify: socket.socket | None = None
        self.notify_address = ""
        self.pid_units: dict[int, str] = {}  # pid -> unit, for every process we spawned
        self.pipes: dict[int, tuple[str, str, int, bytearray]] = (
            {}
        )  # fd -> (unit, ident, pid, buf)
        self.journal_handles: dict[str, Any] = {}
        self.shutting_down = False
        self.exit_code: int | None = None
        self.server: socket.socket | None = None
        self.clients: dict[int, tuple[socket.socket, bytearray, int]] = {}  # fd -> (.., uid)
        self._wakeup_r, self._wakeup_w = os.pipe()
        os.set_blocking(self._wakeup_r, False)
        os.set_blocking(self._wakeup_w, False)
        self.base_env = self._base_environment()
        self.is_pid1 = os.getpid() == 1
        self.spawn_failed = False
        self.pending_signals: set[int] = set()
        self.boot_monotonic = time.monotonic()

    # -- environment ---------------------------------------------------------------------------

    @staticmethod
    def _base_environment() -> dict[str, str]:
        env = {"PATH": SERVICE_PATH, "LANG": os.environ.get("LANG") or "C.UTF-8"}
        for k, v in os.environ.items():
            if k.startswith("LOCALJUJU_"):
                env[k] = v
        return env

    # -- logging -------------------------------------------------------------------------------

    def journal(self, unit: str, ident: str, pid: int, message: str) -> None:
        fh = self.journal_handles.get(unit)
        path = mpath(U.journal_file(unit))
        try:
            if fh is None:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
                self.journal_handles[unit] = fh
            fh.write(U.format_record(time.time(), ident, pid, message))
            fh.flush()
            if fh.tell() > U.JOURNAL_ROTATE_BYTES:
                fh.close()
                del self.journal_handles[unit]
                os.replace(path, path + ".1")
        except OSError as e:
            print(f"init: cannot write the journal of {unit}: {e}", file=sys.stderr)

    def log(self, unit: str, message: str) -> None:
        """A message from the manager about ``unit`` (shown by ``journalctl -u unit``)."""
        self.journal(unit, "systemd", 1, message)

    def log_manager(self, message: str) -> None:
        self.journal("init", "systemd", 1, message)

    # -- timers and tasks ----------------------------------------------------------------------

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        t = Timer(time.monotonic() + max(0.0, delay), next(self._timer_seq), callback)
        heapq.heappush(self.timers, t)
        return t

    def spawn_task(self, gen: TaskGen, kind: str, unit: str = "") -> Task:
        task = Task(gen, kind, unit)
        self.ready.append((task, None))
        return task

    def _step(self, task: Task, value: Any) -> None:
        if task.done:
            return
        try:
            req = task.gen.send(value)
        except StopIteration as stop:
            self._finish(task, stop.value)
            return
        except Exception:  # a bug in a job: report it, keep the manager alive
            self.log_manager(f"internal error in {task}: {traceback.format_exc()}")
            traceback.print_exc()
            self._finish(task, "failed")
            return
        if isinstance(req, WaitPid):
            task.waiting_pid = req.pid
            self.pid_waiters[req.pid] = task
            if req.timeout is not None and req.timeout != U.INFINITY:
                task.timer = self.call_later(req.timeout, lambda: self._wait_timeout(task))
        elif isinstance(req, Sleep):
            task.timer = self.call_later(req.seconds, lambda: self._resume(task, None))
        elif isinstance(req, WaitTask):
            if req.task.done:
                self.ready.append((task, req.task.result))
            else:
                req.task.waiters.append(task)
        elif isinstance(req, WaitReady):
            unit = self.units.get(req.unit)
            if unit is not None and unit.notified_ready:
                self.ready.append((task, READY))
                return
            task.waiting_pid = req.pid
            self.pid_waiters[req.pid] = task
            task.waiting_ready = req.unit
            self.ready_waiters[req.unit] = task
            if req.timeout is not None and req.timeout != U.INFINITY:
                task.timer = self.call_later(req.timeout, lambda: self._wait_timeout(task))
        else:
            self.log_manager(f"internal error: {task} yielded {req!r}")
            self._finish(task, "failed")

    def _resume(self, task: Task, value: Any) -> None:
        if task.timer is not None:
            task.timer.cancelled = True
            task.timer = None
        if task.waiting_pid is not None:
            if self.pid_waiters.get(task.waiting_pid) is task:
                del self.pid_waiters[task.waiting_pid]
            task.waiting_pid = None
        self._forget_ready_waiter(task)
        self.ready.append((task, value))

    def _forget_ready_waiter(self, task: Task) -> None:
        if task.waiting_ready is not None:
            if self.ready_waiters.get(task.waiting_ready) is task:
                del self.ready_waiters[task.waiting_ready]
            task.waiting_ready = None

    def _wait_timeout(self, task: Task) -> None:
        task.timer = None
        self._resume(task, None)

    def _finish(self, task: Task, result: Any) -> None:
        task.done = True
        task.result = result
        for w in task.waiters:
            self.ready.append((w, result))
        task.waiters.clear()
        for cb in task.callbacks:
            try:
                cb(task)
            except Exception:
                traceback.print_exc()

    def cancel(self, task: Task) -> None:
        if task.done:
            return
        if task.timer is not None:
            task.timer.cancelled = True
            task.timer = None
        if task.waiting_pid is not None and self.pid_waiters.get(task.waiting_pid) is task:
            del self.pid_waiters[task.waiting_pid]
        self._forget_ready_waiter(task)
        self.ready = collections.deque((t, v) for t, v in self.ready if t is not task)
        try:
            task.gen.close()
        except Exception:
            traceback.print_exc()
        self._finish(task, CANCELED)

    # -- processes -----------------------------------------------------------------------------

    def _resolve_exec(self, path: str) -> str:
        candidates = (
            [path] if path.startswith("/") else [f"{d}/{path}" for d in SERVICE_PATH.split(":")]
        )
        for c in candidates:
            real = mpath(c)
            if os.access(real, os.X_OK) and not os.path.isdir(real):
                return real
            if real != c and os.access(c, os.X_OK) and not os.path.isdir(c):
                return c
        return mpath(candidates[0])

    def environment(self, unit: Unit, extra: dict[str, str] | None = None) -> dict[str, str]:
        cfg = unit.config
        env = dict(self.base_env)
        env["INVOCATION_ID"] = unit.invocation_id
        if cfg.user and cfg.user not in ("root", "0"):
            entry = U.lookup_user(cfg.user)
            if entry is not None:
                _, _, home, shell = entry
                env.update(HOME=home, USER=cfg.user, LOGNAME=cfg.user, SHELL=shell)
        if cfg.type == "notify" and self.notify_address:
            env["NOTIFY_SOCKET"] = self.notify_address
        for k, v in cfg.environment:
            env[k] = v
        for path, optional in cfg.environment_files:
            try:
                with open(mpath(path), encoding="utf-8") as f:
                    env.update(U.parse_env_file(f.read()))
            except OSError as e:
                if not optional:
                    raise JobFailed(
                        f"Failed to load environment files: {path}: {e.strerror}"
                    ) from e
        if extra:
            env.update(extra)
        return env

    def _nofile(self, unit: Unit) -> tuple[int, int] | None:
        """``LimitNOFILE=``, capped at this host's hard limit when the manager may not raise
        it (no CAP_SYS_RESOURCE, as in some VMs and containers); said once in the journal."""
        want = unit.config.limit_nofile
        if want is None or _may_raise_limits():
            return want
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or all(
            v != resource.RLIM_INFINITY and v <= hard for v in want
        ):
            return want
        capped = (min(want[0], hard), min(want[1], hard))
        if unit.name not in self._capped_nofile:
            self._capped_nofile.add(unit.name)
            self.log(
                unit.name,
                f"{unit.name}: LimitNOFILE={want[0]}:{want[1]} is above this host's hard limit "
                f"({hard}, no CAP_SYS_RESOURCE); using {capped[0]}:{capped[1]}.",
            )
        return capped

    def spawn(self, unit: Unit, cmd: U.Command, env: dict[str, str], main: bool = False) -> int:
        """Fork and exec ``cmd`` for ``unit`` in a new session; its output goes to the journal.

        ``User=``/``Group=`` apply unless the command has the ``+``/``!`` prefix, or it is not
        the main process (``ExecStart=``) and ``PermissionsStartOnly=yes``."""
        cfg = unit.config
        argv = U.expand_argv(cmd.argv, env) if cmd.expand_env else list(cmd.argv)
        exe = self._resolve_exec(argv[0])
        if cmd.argv0:
            argv[0] = cmd.argv0
        ident = cfg.syslog_identifier or os.path.basename(cmd.argv[0])
        nofile = self._nofile(unit)
        workdir = cfg.working_directory or "/"
        if workdir == "~":
            workdir = env.get("HOME", "/root")
        real_workdir = mpath(workdir)
        uid = gid = None
        as_user = not cmd.privileged and (main or not cfg.permissions_start_only)
        if as_user and cfg.user and cfg.user not in ("root", "0"):
            entry = U.lookup_user(cfg.user)
            if entry is None:
                uid = -1
            else:
                uid, gid = entry[0], entry[1]
                if cfg.group:
                    group = U.lookup_group(cfg.group)
                    gid = group if group is not None else -1
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()  # reports exec failure (closed on exec)
        os.set_inheritable(err_w, False)
        pid = os.fork()
        if pid == 0:
            self._child_exec(exe, argv, env, out_w, err_w, real_workdir, cfg, uid, gid, nofile)
        os.close(out_w)
        os.close(err_w)
        failure = b""
        while True:
            try:
                chunk = os.read(err_r, 4096)
            except InterruptedError:
                continue
            if not chunk:
                break
            failure += chunk
        os.close(err_r)
        unit.sessions.add(pid)
        self.pid_units[pid] = unit.name
        os.set_blocking(out_r, False)
        self.pipes[out_r] = (unit.name, ident, pid, bytearray())
        self.sel.register(out_r, selectors.EVENT_READ, ("pipe", out_r))
        self.spawn_failed = bool(failure)
        if failure:
            step, _, msg = failure.decode(errors="replace").partition(":")
            self.log(unit.name, f"{unit.name}: Failed to {step.lower()} {argv[0]}: {msg}")
            self.log(
                unit.name, f"{unit.name}: Failed at step {step} spawning {cmd.argv[0]}: {msg}"
            )
        return pid

    @staticmethod
    def _child_exec(
        exe: str,
        argv: list[str],
        env: dict[str, str],
        out_w: int,
        err_w: int,
        workdir: str,
        cfg: U.UnitConfig,
        uid: int | None,
        gid: int | None,
        nofile: tuple[int, int] | None,
    ) -> None:
        """In the forked child: set up and exec; never returns. Failures are reported on
        ``err_w`` as ``STEP:message`` and end the child with systemd's exit code for STEP."""
        step = "EXEC"
        try:
            os.setsid()
            for s in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD, signal.SIGTERM):
                signal.signal(s, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(out_w, 1)
            os.dup2(out_w, 2)
            step = "CHDIR"
            try:
                os.chdir(workdir)
            except OSError:
                if not cfg.working_directory_optional:
                    raise
            if nofile:
                step = "LIMITS"
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
            if uid is not None:
                step = "USER"
                if uid < 0:
                    raise OSError(errno.ESRCH, f"Failed to determine user {cfg.user}")
                if gid is not None and gid < 0:
                    raise OSError(errno.ESRCH, f"Failed to determine group {cfg.group}")
                os.setgid(gid or 0)
                os.initgroups(cfg.user, gid or 0)
                os.setuid(uid)
            step = "EXEC"
            os.closerange(3, err_w)
            os.closerange(err_w + 1, 65536)
            os.execve(exe, argv, env)
        except BaseException as e:  # noqa: B036 - the child must never return into the manager
            msg = getattr(e, "strerror", None) or str(e)
            try:
                os.write(err_w, f"{step}:{msg}".encode())
            except OSError:
                pass
        os._exit({"CHDIR": EXIT_CHDIR, "USER": EXIT_USER}.get(step, EXIT_EXEC))

    def _read_pipe(self, fd: int) -> None:
        unit, ident, pid, buf = self.pipes[fd]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            buf.extend(data)
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    break
                line = bytes(buf[:nl]).decode(errors="replace")
                del buf[: nl + 1]
                self.journal(unit, ident, pid, line)
            if len(buf) > 65536:
                self.journal(unit, ident, pid, bytes(buf).decode(errors="replace"))
                buf.clear()
            return
        if buf:
            self.journal(unit, ident, pid, bytes(buf).decode(errors="replace"))
        self.sel.unregister(fd)
        os.close(fd)
        del self.pipes[fd]

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            except InterruptedError:
                continue
            if pid == 0:
                return
            self._child_exited(pid, status)

    def _child_exited(self, pid: int, status: int) -> None:
        unit_name = self.pid_units.pop(pid, None)
        unit = self.units.get(unit_name) if unit_name else None
        waiter = self.pid_waiters.get(pid)
        if unit is not None and unit.main_pid == pid:
            unit.main_pid = 0
            unit.exec_main_exit = time.time()
            unit.exec_main_code, unit.exec_main_status, _ = describe_status(status)
            if waiter is None:
                self._main_died(unit, status)
        if unit is not None and unit.control_pid == pid:
            unit.control_pid = 0
        if waiter is not None:
            self._resume(waiter, status)

    def unit_processes(self, unit: Unit) -> list[int]:
        pids = processes_in_sessions(unit.sessions)
        live = set()
        for pid in pids:
            sid = session_of(pid)
            if sid is not None:
                live.add(sid)
        # forget sessions that are gone (their leaders' pids can then be reused)
        unit.sessions &= live | {p for p in (unit.main_pid, unit.control_pid) if p}
        return pids

    def signal_unit(self, unit: Unit, sig: int, whom: str = "all") -> list[int]:
        if whom == "main":
            targets = [unit.main_pid] if unit.main_pid else []
        elif whom == "control":
            targets = [unit.control_pid] if unit.control_pid else []
        else:
            targets = self.unit_processes(unit)
            targets += [p for p in (unit.main_pid, unit.control_pid) if p and p not in targets]
        sent = []
        for pid in targets:
            try:
                os.kill(pid, sig)
                if sig not in (signal.SIGKILL, signal.SIGCONT):
                    os.kill(pid, signal.SIGCONT)
                sent.append(pid)
            except ProcessLookupError:
                pass
        return sent

    # -- unit state ----------------------------------------------------------------------------

    def set_state(self, unit: Unit, active: str, sub: str) -> None:
        now = time.time()
        old = unit.active_state
        if old != active:
            if active == "active":
                unit.active_enter = now
            if old == "active":
                unit.active_exit = now
            if active in ("inactive", "failed"):
                unit.inactive_enter = now
                unit.inactive_enter_monotonic = time.monotonic()
            if old in ("inactive", "failed"):
                unit.inactive_exit = now
                unit.inactive_exit_monotonic = time.monotonic()
        unit.active_state, unit.sub_state = active, sub
        unit.state_change = now
        if old != active and not unit.name.endswith(".timer"):
            for t in list(self.units.values()):
                if (
                    t.name.endswith(".timer")
                    and t.active_state == "active"
                    and t.config.timer_unit == unit.name
                ):
                    self.call_later(0, functools.partial(self._timer_trigger_notify, t))

    def get_unit(self, name: str) -> Unit:
        """The unit ``name``, loaded from disk on first reference.

        As systemd does, a unit that was not found is looked up again on each reference, and an
        idle unit that nothing references (inactive, not failed, not enabled) is reloaded (it
        would have been garbage-collected). A loaded, referenced unit keeps its configuration
        until ``daemon-reload`` (``NeedDaemonReload=yes`` meanwhile).
        """
        unit = self.units.get(name)
        if unit is None:
            unit = Unit(name, U.load_unit_config(name))
            self.units[name] = unit
        elif unit.config.load_state == "not-found" or (
            unit.idle and unit.active_state != "failed" and U.enabled_state(name) != "enabled"
        ):
            unit.config = U.load_unit_config(name)
        return unit

    def need_daemon_reload(self, unit: Unit) -> bool:
        if unit.config.load_state != "loaded":
            return False
        return U.current_signature(unit.name) != unit.config.signature

    def daemon_reload(self) -> None:
        for name, unit in list(self.units.items()):
            new = U.load_unit_config(name)
            if new.load_state == "not-found" and unit.idle:
                del self.units[name]
                continue
            unit.config = new
        self.log_manager("Reloading.")
        for unit in list(self.units.values()):
            if unit.name.endswith(".timer") and unit.active_state == "active":
                if unit.config.load_state == "loaded":
                    self._timer_arm(unit)

    # -- jobs ----------------------------------------------------------------------------------

    def enqueue(self, unit: Unit, kind: str) -> Task:
        """Queue a job (start, stop, restart, reload) for ``unit``; jobs run one at a time."""
        cur = unit.job if unit.job and not unit.job.done else None
        if cur is not None:
            if kind == cur.kind and kind in ("start", "stop", "restart"):
                return cur
            if kind == "start" and cur.kind == "restart":
                return cur
            if cur.kind == "auto-restart" or (kind == "stop" and cur.kind in ("start", "restart")):
                self.cancel(cur)
                cur = None
        body: TaskGen
        if kind == "start":
            body = self._job_start(unit)
        elif kind == "stop":
            body = self._job_stop(unit)
        elif kind == "restart":
            body = self._job_restart(unit)
        elif kind == "reload":
            body = self._job_reload(unit)
        else:
            raise ValueError(kind)
        gen = self._after(cur, body) if cur is not None else body
        task = self.spawn_task(gen, kind, unit.name)
        unit.job = task
        return task

    @staticmethod
    def _after(prev: Task, body: TaskGen) -> TaskGen:
        yield WaitTask(prev)
        return (yield from body)

    def _fail(self, unit: Unit, result: str) -> str:
        unit.result = result
        self.set_state(unit, "failed", "failed")
        self.log(unit.name, f"{unit.name}: Failed with result '{result}'.")
        self.log(unit.name, f"Failed to start {unit.config.description}.")
        return "failed"

    def _run_control(
        self, unit: Unit, cmd: U.Command, env: dict[str, str], timeout: float
    ) -> TaskGen:
        """Run a control command (ExecStartPre/Post, ExecStop, ExecReload): its result."""
        pid = self.spawn(unit, cmd, env)
        unit.control_pid = pid
        status = yield WaitPid(pid, timeout)
        if status is None:
            self.log(unit.name, f"{unit.name}: Control process timed out. Terminating.")
            self.signal_unit(unit, signal.SIGKILL, "control")
            yield WaitPid(pid, 5.0)
            unit.control_pid = 0
            return "timeout"
        unit.control_pid = 0
        if not _exit_clean(status, [], daemon=False) and not cmd.ignore_failure:
            _, _, text = describe_status(status)
            self.log(unit.name, f"{unit.name}: Control process exited, {text}")
            return "signal" if os.WIFSIGNALED(status) else "exit-code"
        return "success"

    def _start_allowed(self, unit: Unit) -> bool:
        """Apply StartLimitIntervalSec=/StartLimitBurst= (systemd's defaults: 5 in 10s)."""
        cfg = unit.config
        now = time.monotonic()
        while unit.starts and now - unit.starts[0] > cfg.start_limit_interval:
            unit.starts.popleft()
        if cfg.start_limit_burst > 0 and len(unit.starts) >= cfg.start_limit_burst:
            return False
        unit.starts.append(now)
        return True

    def _job_start(self, unit: Unit, auto: bool = False) -> TaskGen:
        cfg = unit.config
        if cfg.load_state != "loaded":
            return cfg.load_state
        if unit.active_state in ("active", "reloading"):
            return "done"
        if unit.name.endswith(".timer"):
            return self._timer_start(unit)
        if not self._start_allowed(unit):
            self.log(unit.name, f"{unit.name}: Start request repeated too quickly.")
            return self._fail(unit, "start-limit-hit")
        unit.invocation_id = uuid.uuid4().hex
        unit.result = "success"
        unit.last_main_status = None
        if not auto:
            unit.n_restarts = 0  # an explicit start flushes the restart counter
        try:
            env = self.environment(unit)
        except JobFailed as e:
            self.log(unit.name, f"{unit.name}: {e}")
            return self._fail(unit, "resources")
        timeout = cfg.effective_timeout_start
        self.log(unit.name, f"Starting {cfg.description}...")
        if cfg.exec_start_pre:
            self.set_state(unit, "activating", "start-pre")
            for cmd in cfg.exec_start_pre:
                r = yield from self._run_control(unit, cmd, env, timeout)
                if r != "success":
                    yield from self._kill_remaining(unit, cfg.timeout_stop)
                    return self._fail(unit, r)
        self.set_state(unit, "activating", "start")
        if cfg.type == "oneshot":
            return (yield from self._start_oneshot(unit, env, timeout))
        unit.notified_ready = False
        unit.status_text = ""
        pid = self.spawn(unit, cfg.exec_start[0], env, main=True)
        unit.exec_main_start = time.time()
        unit.exec_main_code = unit.exec_main_status = 0
        if cfg.type == "forking":
            unit.control_pid = pid
            status = yield WaitPid(pid, timeout)
            unit.control_pid = 0
            if status is None:
                self.log(unit.name, f"{unit.name}: start operation timed out. Terminating.")
                yield from self._kill_remaining(unit, cfg.timeout_stop)
                return self._fail(unit, "timeout")
            if not _exit_clean(status, cfg.success_exit_status, False):
                _, _, text = describe_status(status)
                self.log(unit.name, f"{unit.name}: Control process exited, {text}")
                yield from self._kill_remaining(unit, cfg.timeout_stop)
                return self._fail(unit, "exit-code")
            main = self._forking_main_pid(unit)
            if not main:
                self.log(unit.name, f"{unit.name}: New main PID could not be determined.")
                self.set_state(unit, "inactive", "dead")
                return "done"
            unit.main_pid = unit.exec_main_pid = main
            self.pid_units[main] = unit.name
            sid = session_of(main)
            if sid:  # a daemon that called setsid() still belongs to the unit
                unit.sessions.add(sid)
        else:
            unit.main_pid = unit.exec_main_pid = pid
            if cfg.type == "exec" and self.spawn_failed:
                # Type=exec: the start fails when the binary cannot be executed
                yield WaitPid(pid, 5.0)
                return self._fail(unit, "exit-code")
            if cfg.type == "notify":
                r = yield from self._wait_notify_ready(unit, pid, timeout)
                if r != READY:
                    return r
        if cfg.exec_start_post:
            self.set_state(unit, "activating", "start-post")
            for post in cfg.exec_start_post:
                r = yield from self._run_control(unit, post, env, timeout)
                if r != "success":
                    yield from self._stop_processes(unit)
                    return self._fail(unit, r)
        self.set_state(unit, "active", "running")
        self.log(unit.name, f"Started {cfg.description}.")
        if not unit.main_pid and unit.last_main_status is not None:
            # the main process died while ExecStartPost= ran
            return (yield from self._after_main_exit(unit, unit.last_main_status))
        return "done"

    def _wait_notify_ready(self, unit: Unit, pid: int, timeout: float) -> TaskGen:
        """Type=notify: the start job waits for ``READY=1`` from the main process."""
        res = yield WaitReady(unit.name, pid, timeout)
        if res == READY:
            return READY
        cfg = unit.config
        if res is None:
            self.log(unit.name, f"{unit.name}: start operation timed out. Terminating.")
            yield from self._stop_processes(unit)
            return self._fail(unit, "timeout")
        # the main process exited before it was ready: a clean exit breaks the protocol
        unit.last_main_status = res
        result = _main_result(res, cfg)
        if result == "success":
            result = "protocol"
        unit.result = result
        unit.job = self.spawn_task(
            self._after_main_exit(unit, res, result), "auto-restart", unit.name
        )
        return "failed"

    def _start_oneshot(self, unit: Unit, env: dict[str, str], timeout: float) -> TaskGen:
        cfg = unit.config
        for cmd in cfg.exec_start:
            pid = self.spawn(unit, cmd, env, main=True)
            unit.main_pid = unit.exec_main_pid = pid
            unit.exec_main_start = time.time()
            status = yield WaitPid(pid, timeout)
            if status is None:
                self.log(unit.name, f"{unit.name}: start operation timed out. Terminating.")
                yield from self._kill_remaining(unit, cfg.timeout_stop)
                return self._fail(unit, "timeout")
            if not _exit_clean(status, cfg.success_exit_status, False):
                _, _, text = describe_status(status)
                self.log(unit.name, f"{unit.name}: Main process exited, {text}")
                if not cmd.ignore_failure:
                    yield from self._kill_remaining(unit, cfg.timeout_stop)
                    return self._fail(unit, "signal" if os.WIFSIGNALED(status) else "exit-code")
        unit.main_pid = 0
        for cmd in cfg.exec_start_post:
            r = yield from self._run_control(unit, cmd, env, timeout)
            if r != "success":
                return self._fail(unit, r)
        if cfg.remain_after_exit:
            self.set_state(unit, "active", "exited")
        else:
            yield from self._kill_remaining(unit, cfg.timeout_stop)
            self.set_state(unit, "inactive", "dead")
            self.log(unit.name, f"{unit.name}: Deactivated successfully.")
        self.log(unit.name, f"Finished {cfg.description}.")
        return "done"

    def _forking_main_pid(self, unit: Unit) -> int:
        if unit.config.pid_file:
            try:
                with open(mpath(unit.config.pid_file), encoding="utf-8") as f:
                    return int(f.read().strip() or 0)
            except (OSError, ValueError):
                return 0
        pids = self.unit_processes(unit)
        return pids[0] if pids else 0

    def _main_died(self, unit: Unit, status: int) -> None:
        """The main process exited and no job was waiting for it."""
        unit.last_main_status = status
        if unit.job and not unit.job.done:
            return  # the running job deals with it when it ends
        unit.job = self.spawn_task(self._after_main_exit(unit, status), "auto-restart", unit.name)

    def _after_main_exit(self, unit: Unit, status: int, result: str | None = None) -> TaskGen:
        """What systemd does when a service's main process exits: clean up, restart or fail."""
        cfg = unit.config
        _, _, text = describe_status(status)
        if result is None:
            result = _main_result(status, cfg)
        if result != "success" or os.WIFSIGNALED(status):
            self.log(unit.name, f"{unit.name}: Main process exited, {text}")
        unit.result = result
        if self.unit_processes(unit):
            self.set_state(unit, "deactivating", "stop-sigterm")
            yield from self._kill_remaining(unit, cfg.timeout_stop)
        if cfg.exec_stop_post:
            self.set_state(unit, "deactivating", "stop-post")
            try:
                env = self.environment(unit)
                for cmd in cfg.exec_stop_post:
                    yield from self._run_control(unit, cmd, env, cfg.timeout_stop)
            except JobFailed:
                pass
        if result != "success":
            self.log(unit.name, f"{unit.name}: Failed with result '{result}'.")
        if _should_restart(cfg.restart, result, status) and not self.shutting_down:
            self.set_state(unit, "activating", "auto-restart")
            yield Sleep(cfg.restart_sec)
            unit.n_restarts += 1
            self.log(
                unit.name,
                f"{unit.name}: Scheduled restart job, restart counter is at {unit.n_restarts}.",
            )
            self.log(unit.name, f"Stopped {cfg.description}.")
            return (yield from self._job_start(unit, auto=True))
        if result == "success":
            self.set_state(unit, "inactive", "dead")
            self.log(unit.name, f"{unit.name}: Deactivated successfully.")
        else:
            self.set_state(unit, "failed", "failed")
        return "done"

    def _kill_remaining(self, unit: Unit, timeout: float) -> TaskGen:
        """KillSignal= to every process left in the unit, SIGKILL after ``timeout``."""
        if unit.config.kill_mode in ("process", "none"):
            return False
        if not self.signal_unit(unit, unit.config.kill_signal):
            return False
        return (yield from self._wait_gone(unit, timeout, sigkill=unit.config.send_sigkill))

    def _wait_gone(self, unit: Unit, timeout: float, sigkill: bool) -> TaskGen:
        """Wait until the unit has no process left; SIGKILL them at the deadline.

        Returns True if SIGKILL was needed."""
        deadline = time.monotonic() + (timeout if timeout != U.INFINITY else 1e9)
        killed = False
        while self.unit_processes(unit) or unit.main_pid:
            now = time.monotonic()
            if now >= deadline:
                if killed or not sigkill:
                    if killed:
                        self.log(unit.name, f"{unit.name}: Processes still around after SIGKILL.")
                    return killed
                self.log(unit.name, f"{unit.name}: State '{unit.sub_state}' timed out. Killing.")
                unit.sub_state = "stop-sigkill"
                self.signal_unit(unit, signal.SIGKILL)
                killed = True
                deadline = now + 5.0
                continue
            if unit.main_pid:
                yield WaitPid(unit.main_pid, min(deadline - now, 0.5))
            else:
                yield Sleep(min(0.02, deadline - now))
        return killed

    def _stop_processes(self, unit: Unit) -> TaskGen:
        """Send KillSignal= per KillMode=, wait TimeoutStopSec=, then SIGKILL. True if killed."""
        cfg = unit.config
        mode = cfg.kill_mode
        if mode == "none":
            return False
        whom = "all" if mode == "control-group" else "main"
        if not self.signal_unit(unit, cfg.kill_signal, whom) and not unit.main_pid:
            return False
        unit.sub_state = "stop-sigterm"
        timeout = cfg.timeout_stop if cfg.timeout_stop != U.INFINITY else 1e9
        deadline = time.monotonic() + timeout
        while unit.main_pid and time.monotonic() < deadline:
            yield WaitPid(unit.main_pid, deadline - time.monotonic())
        if mode in ("control-group", "mixed"):
            left = max(0.0, deadline - time.monotonic())
            return (yield from self._wait_gone(unit, left, sigkill=cfg.send_sigkill))
        if unit.main_pid and cfg.send_sigkill:
            self.log(unit.name, f"{unit.name}: State 'stop-sigterm' timed out. Killing.")
            unit.sub_state = "stop-sigkill"
            self.signal_unit(unit, signal.SIGKILL, "main")
            yield WaitPid(unit.main_pid, 5.0)
            return True
        return False

    def _job_stop(self, unit: Unit) -> TaskGen:
        cfg = unit.config
        if unit.name.endswith(".timer"):
            return self._timer_stop(unit)
        if unit.active_state in ("inactive", "failed") and not self.unit_processes(unit):
            return "done"
        had_main = bool(unit.main_pid)
        self.set_state(unit, "deactivating", "stop")
        self.log(unit.name, f"Stopping {cfg.description}...")
        env: dict[str, str] = {}
        try:
            env = self.environment(unit, {"MAINPID": str(unit.main_pid)} if unit.main_pid else {})
        except JobFailed:
            env = dict(self.base_env)
        result = "success"
        if cfg.exec_stop and (unit.main_pid or cfg.type == "oneshot"):
            for cmd in cfg.exec_stop:
                r = yield from self._run_control(unit, cmd, env, cfg.timeout_stop)
                if r == "timeout":
                    result = "timeout"
        if (yield from self._stop_processes(unit)):
            result = "timeout"
        if cfg.exec_stop_post:
            self.set_state(unit, "deactivating", "stop-post")
            for cmd in cfg.exec_stop_post:
                yield from self._run_control(unit, cmd, env, cfg.timeout_stop)
        if (
            result == "success"
            and had_main
            and unit.exec_main_code == 1
            and unit.exec_main_status != 0
            and unit.exec_main_status not in cfg.success_exit_status
        ):
            result = "exit-code"
        if result == "success":
            self.set_state(unit, "inactive", "dead")
            self.log(unit.name, f"{unit.name}: Deactivated successfully.")
        else:
            unit.result = result
            self.set_state(unit, "failed", "failed")
            self.log(unit.name, f"{unit.name}: Failed with result '{result}'.")
        self.log(unit.name, f"Stopped {cfg.description}.")
        return "done"

    def _job_restart(self, unit: Unit) -> TaskGen:
        yield from self._job_stop(unit)
        return (yield from self._job_start(unit))

    def _job_reload(self, unit: Unit) -> TaskGen:
        cfg = unit.config
        if unit.active_state != "active":
            return "not-active"
        env = self.environment(unit, {"MAINPID": str(unit.main_pid)} if unit.main_pid else {})
        sub = unit.sub_state
        self.set_state(unit, "reloading", "reload")
        self.log(unit.name, f"Reloading {cfg.description}...")
        result = "done"
        for cmd in cfg.exec_reload:
            if (yield from self._run_control(unit, cmd, env, cfg.effective_timeout_start)) != (
                "success"
            ):
                result = "failed"
                break
        self.set_state(unit, "active", sub)
        if result == "done":
            self.log(unit.name, f"Reloaded {cfg.description}.")
        if not unit.main_pid and sub == "running" and unit.last_main_status is not None:
            return (yield from self._after_main_exit(unit, unit.last_main_status))
        return result

    # -- timers --------------------------------------------------------------------------------
    #
    # A .timer unit is a heap timer of this loop (never a sleep): _timer_arm() computes the next
    # elapse (localjuju.machine.timers.plan) and wakes up at it, or after at most
    # TIMER_RECHECK seconds to follow wall-clock changes; _timer_elapse() starts the unit to
    # trigger and waits, in SubState=running, until that unit is inactive again (a timer never
    # triggers a unit that is still running, as systemd's timer_trigger_notify()).

    TIMER_RECHECK = 60.0

    def _timer_start(self, unit: Unit) -> str:
        cfg = unit.config
        target = self.get_unit(cfg.timer_unit)
        if target.config.load_state != "loaded":
            self.log(
                unit.name,
                f"{unit.name}: Refusing to start, unit {cfg.timer_unit} to trigger not loaded.",
            )
            return self._fail_timer(unit, "resources")
        unit.result = "success"
        unit.activated_monotonic = time.monotonic()
        unit.activated_realtime = time.time_ns() // 1000
        unit.timer_disabled = set()
        if cfg.persistent and not unit.last_trigger_realtime:
            with contextlib.suppress(OSError):
                st = os.stat(mpath(TM.stamp_path(unit.name)))
                unit.last_trigger_realtime = st.st_mtime_ns // 1000
        self.set_state(unit, "active", "waiting")
        self.log(unit.name, f"Started {cfg.description}.")
        self._timer_arm(unit)
        return "done"

    def _fail_timer(self, unit: Unit, result: str) -> str:
        self._timer_disarm(unit)
        unit.result = result
        self.set_state(unit, "failed", "failed")
        self.log(unit.name, f"{unit.name}: Failed with result '{result}'.")
        return "failed"

    def _timer_stop(self, unit: Unit) -> str:
        self._timer_disarm(unit)
        if unit.active_state in ("inactive", "failed"):
            return "done"
        self.set_state(unit, "inactive", "dead")
        self.log(unit.name, f"{unit.name}: Deactivated successfully.")
        self.log(unit.name, f"Stopped {unit.config.description}.")
        return "done"

    def _timer_disarm(self, unit: Unit) -> None:
        if unit.timer_handle is not None:
            unit.timer_handle.cancelled = True
            unit.timer_handle = None

    def _timer_clocks(self, unit: Unit) -> TM.Clocks:
        target = self.units.get(unit.config.timer_unit)
        return TM.Clocks(
            now_monotonic=time.monotonic(),
            now_realtime=time.time_ns() // 1000,
            boot_monotonic=self.boot_monotonic,
            activated_monotonic=unit.activated_monotonic,
            activated_realtime=unit.activated_realtime,
            last_trigger_monotonic=unit.last_trigger_monotonic,
            last_trigger_realtime=unit.last_trigger_realtime,
            unit_inactive_exit_monotonic=target.inactive_exit_monotonic if target else 0.0,
            unit_inactive_enter_monotonic=target.inactive_enter_monotonic if target else 0.0,
        )

    def _timer_arm(self, unit: Unit) -> None:
        """timer_enter_waiting(): compute the next elapse and wait for it."""
        self._timer_disarm(unit)
        cfg = unit.config
        clocks = self._timer_clocks(unit)
        plan = TM.plan(cfg.timer_monotonic, cfg.timer_calendar, clocks, unit.timer_disabled)
        unit.timer_disabled = plan.disabled
        unit.timer_plan = plan
        if plan.elapsed:
            if plan.leave_around or cfg.remain_after_elapse:
                self.set_state(unit, "active", "elapsed")
            else:
                self._timer_stop(unit)
            return
        self.set_state(unit, "active", "waiting")
        if plan.due(clocks.now_monotonic, clocks.now_realtime):
            unit.timer_handle = self.call_later(0, lambda: self._timer_tick(unit))
            return
        delays = []
        if plan.next_monotonic is not None:
            delays.append(plan.next_monotonic - clocks.now_monotonic)
        if plan.next_realtime is not None:
            delays.append((plan.next_realtime - clocks.now_realtime) / CAL.USEC_PER_SEC)
        delay = min(min(delays), self.TIMER_RECHECK)
        unit.timer_handle = self.call_later(delay, lambda: self._timer_tick(unit))

    def _timer_tick(self, unit: Unit) -> None:
        unit.timer_handle = None
        if unit.active_state != "active" or unit.sub_state != "waiting" or self.shutting_down:
            return
        plan = unit.timer_plan
        if plan is not None and plan.due(time.monotonic(), time.time_ns() // 1000):
            self._timer_elapse(unit)
        else:
            self._timer_arm(unit)  # woken early (re-check of the wall clock)

    def _timer_elapse(self, unit: Unit) -> None:
        """timer_enter_running(): start the unit to trigger, record the trigger."""
        target = self.get_unit(unit.config.timer_unit)
        if target.config.load_state != "loaded":
            self.log(unit.name, f"{unit.name}: Unit to trigger vanished.")
            self._fail_timer(unit, "resources")
            return
        task = self.enqueue(target, "start")
        unit.last_trigger_monotonic = time.monotonic()
        unit.last_trigger_realtime = time.time_ns() // 1000
        if unit.config.persistent:
            self._touch_stamp(unit)
        self.set_state(unit, "active", "running")
        task.callbacks.append(lambda _t: self._timer_trigger_notify(unit))

    def _touch_stamp(self, unit: Unit) -> None:
        path = mpath(TM.stamp_path(unit.name))
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a", encoding="utf-8"):
                pass
            ns = unit.last_trigger_realtime * 1000
            os.utime(path, ns=(ns, ns))
        except OSError as e:
            self.log(unit.name, f"{unit.name}: Failed to update timestamp file {path}: {e}")

    def _timer_trigger_notify(self, unit: Unit) -> None:
        """timer_trigger_notify(): the unit to trigger changed state."""
        if unit.active_state != "active" or self.shutting_down:
            return
        unit.timer_disabled = {
            i
            for i in unit.timer_disabled
            if i < len(unit.config.timer_monotonic)
            and unit.config.timer_monotonic[i][0] not in ("OnUnitActiveUSec", "OnUnitInactiveUSec")
        }
        if unit.sub_state in ("waiting", "elapsed"):
            self._timer_arm(unit)
        elif unit.sub_state == "running":
            target = self.units.get(unit.config.timer_unit)
            busy = target is not None and (
                target.active_state not in ("inactive", "failed")
                or (target.job is not None and not target.job.done)
            )
            if not busy:
                self._timer_arm(unit)

    # -- boot and shutdown ---------------------------------------------------------------------

    def boot(self) -> list[Task]:
        # systemd-tmpfiles-setup.service: before any service (/run is empty at every boot)
        for note in TMPF.create():
            self.log_manager(f"systemd-tmpfiles: {note}")
        names = U.enabled_units()
        tasks: dict[str, Task] = {}
        for name in self._boot_order(names):
            unit = self.get_unit(name)
            if unit.config.load_state != "loaded":
                self.log_manager(f"{name}: not started at boot: {unit.config.load_state}")
                continue
            deps = [tasks[a] for a in unit.config.after if a in tasks]
            gen = self._job_start(unit)
            if deps:
                gen = self._after_all(deps, gen)
            task = self.spawn_task(gen, "start", name)
            unit.job = task
            tasks[name] = task
        return list(tasks.values())

    def _boot_order(self, names: list[str]) -> list[str]:
        after: dict[str, set[str]] = {}
        for n in names:
            cfg = self.get_unit(n).config
            after.setdefault(n, set()).update(a for a in cfg.after if a in names)
            for b in cfg.before:
                if b in names:
                    after.setdefault(b, set()).add(n)
        order: list[str] = []
        seen: set[str] = set()

        def visit(n: str, stack: set[str]) -> None:
            if n in seen or n in stack:
                return
            stack.add(n)
            for d in sorted(after.get(n, ())):
                visit(d, stack)
            stack.discard(n)
            seen.add(n)
            order.append(n)

        for n in names:
            visit(n, set())
        return order

    @staticmethod
    def _after_all(deps: list[Task], body: TaskGen) -> TaskGen:
        for d in deps:
            yield WaitTask(d)
        return (yield from body)

    def _job_shutdown(self) -> TaskGen:
        self.log_manager("Stopping all units (shutdown).")
        for unit in self.units.values():
            if unit.job and not unit.job.done:
                self.cancel(unit.job)
        stops = [
            self.enqueue(u, "stop")
            for u in self.units.values()
            if u.active_state not in ("inactive", "failed") or self.unit_processes(u)
        ]
        for t in stops:
            yield WaitTask(t)
        if self.is_pid1:
            yield from self._kill_everything()
        self.log_manager("Shutdown complete.")
        return 0

    def _kill_everything(self) -> TaskGen:
        me = os.getpid()

        def others() -> list[int]:
            return [
                int(e)
                for e in os.listdir("/proc")
                if e.isdigit() and int(e) != me and session_of(int(e)) is not None
            ]

        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            for pid in others():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while others() and time.monotonic() < deadline:
                yield Sleep(0.02)

    # -- the control socket --------------------------------------------------------------------

    def listen(self) -> None:
        """The control socket: mode 0666, as systemd's private bus is reachable by every user
        through D-Bus; requests that change something are refused unless the caller (its
        SO_PEERCRED uid) is root, see :data:`READ_ONLY_OPS`."""
        path = mpath(SYSTEMD_SOCKET)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        os.chmod(path, 0o666)
        srv.listen(64)
        srv.setblocking(False)
        self.server = srv
        self.sel.register(srv, selectors.EVENT_READ, ("server", None))
        self._listen_notify()

    def _listen_notify(self) -> None:
        """The sd_notify socket (``$NOTIFY_SOCKET`` of Type=notify services): a datagram
        socket at the machine's ``/run/systemd/notify``, or an abstract one when that path is
        too long for a socket address (a deep test root)."""
        path = mpath(NOTIFY_SOCKET)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if len(path.encode()) < 100:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            sock.bind(path)
            os.chmod(path, 0o777)  # services running as another user send to it
            self.notify_address = path
        else:
            name = f"localjuju-notify-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            sock.bind("\0" + name)
            self.notify_address = "@" + name
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        sock.setblocking(False)
        self.notify = sock
        self.sel.register(sock, selectors.EVENT_READ, ("notify", None))

    def _read_notify(self) -> None:
        """sd_notify messages: ``READY=1`` and ``STATUS=`` from a unit's main process (the
        sender's PID comes from SCM_CREDENTIALS; NotifyAccess=main)."""
        assert self.notify is not None
        creds_size = struct.calcsize("3i")
        while True:
            try:
                data, ancdata, _, _ = self.notify.recvmsg(4096, socket.CMSG_SPACE(creds_size))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            pid = 0
            for level, kind, cdata in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", cdata[:creds_size])[0]
            unit = next((u for u in self.units.values() if pid and u.main_pid == pid), None)
            if unit is not None and unit.config.type != "notify":
                self.log(
                    unit.name,
                    f"{unit.name}: Got notification message from PID {pid}, but reception is "
                    "disabled",
                )
                continue
            if unit is None:
                sid = session_of(pid) if pid else None
                owner = self.units.get(self.pid_units.get(pid, "")) or next(
                    (u for u in self.units.values() if sid is not None and sid in u.sessions),
                    None,
                )
                if owner is not None:
                    main = (
                        str(owner.main_pid) if owner.main_pid else "which is currently not known"
                    )
                    self.log(
                        owner.name,
                        f"{owner.name}: Got notification message from PID {pid}, but reception "
                        f"only permitted for main PID {main}",
                    )
                continue
            for line in data.decode(errors="replace").split("\n"):
                if line == "READY=1":
                    unit.notified_ready = True
                    waiter = self.ready_waiters.get(unit.name)
                    if waiter is not None:
                        self._resume(waiter, READY)
                elif line.startswith("STATUS="):
                    unit.status_text = line[len("STATUS=") :]

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                conn, _ = self.server.accept()
            except (BlockingIOError, InterruptedError):
                return
            conn.setblocking(False)
            self.clients[conn.fileno()] = (conn, bytearray(), peer_uid(conn))
            self.sel.register(conn, selectors.EVENT_READ, ("client", conn.fileno()))

    def _read_client(self, fd: int) -> None:
        conn, buf, uid = self.clients[fd]
        try:
            data = conn.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            buf.extend(data)
            if b"\n" not in buf:
                return
        self.sel.unregister(conn)
        del self.clients[fd]
        if not buf.strip():
            conn.close()
            return
        try:
            request = json.loads(bytes(buf).split(b"\n", 1)[0])
            if not isinstance(request, dict):
                raise ValueError("request is not an object")
        except ValueError as e:
            self._reply(conn, {"error": f"bad request: {e}"})
            return
        if uid != 0 and request.get("op") not in READ_ONLY_OPS:
            # As polkit answers systemd for a caller that is not root and cannot authenticate
            # interactively (systemctl prints the message, see systemctl.denied_message).
            self._reply(conn, {"error": DENIED, "denied": True})
            return
        task = self.spawn_task(handle(self, request), "request")
        task.callbacks.append(lambda t: self._reply(conn, t.result))

    def _reply(self, conn: socket.socket, response: Any) -> None:
        if response == CANCELED:
            response = {"error": "request canceled"}
        elif not isinstance(response, dict):
            response = {
                "error": "internal error in the supervisor (see /var/log/localjuju/init.log)"
            }
        try:
            conn.setblocking(True)
            conn.settimeout(5.0)
            conn.sendall(json.dumps(response).encode() + b"\n")
        except OSError:
            pass
        finally:
            conn.close()

    # -- the loop ------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop every unit, then (as PID 1) every process, then leave the loop (exit 0)."""
        if self.shutting_down:
            return
        self.shutting_down = True
        task = self.spawn_task(self._job_shutdown(), "shutdown")
        task.callbacks.append(lambda t: setattr(self, "exit_code", 0))

    def _on_signal(self, signum: int, _frame: Any) -> None:
        # Only record it: the loop acts on it between steps (handlers run between bytecodes).
        self.pending_signals.add(signum)

    def _handle_signals(self) -> None:
        pending, self.pending_signals = self.pending_signals, set()
        if pending & {signal.SIGTERM, signal.SIGINT}:
            self.shutdown()
        elif signal.SIGHUP in pending and not self.shutting_down:
            self.daemon_reload()  # as systemd does on SIGHUP

    def run(self) -> int:
        if not self.is_pid1:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
            except OSError:
                pass
        signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)
        self.sel.register(self._wakeup_r, selectors.EVENT_READ, ("wakeup", None))
        for s in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, self._on_signal)
        self.listen()
        self.log_manager(f"localjuju init started (pid {os.getpid()}).")
        self.boot()
        ready = mpath(READY_FILE)
        with open(ready, "w", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")
        try:
            while self.exit_code is None:
                self._iterate()
        finally:
            for path in (mpath(SYSTEMD_SOCKET), ready) + (
                (self.notify_address,) if self.notify_address.startswith("/") else ()
            ):
                try:
                    os.unlink(path)
                except OSError:
                    pass
        return self.exit_code

    def _iterate(self) -> None:
        while self.ready:
            task, value = self.ready.popleft()
            self._step(task, value)
            if self.exit_code is not None:
                return
        timeout = 1.0
        while self.timers and self.timers[0].cancelled:
            heapq.heappop(self.timers)
        if self.timers:
            timeout = max(0.0, min(timeout, self.timers[0].when - time.monotonic()))
        try:
            events = self.sel.select(timeout)
        except InterruptedError:
            events = []
        for key, _ in events:
            kind, arg = key.data
            if kind == "wakeup":
                try:
                    while os.read(self._wakeup_r, 4096):
                        pass
                except BlockingIOError:
                    pass
            elif kind == "server":
                self._accept()
            elif kind == "client":
                if arg in self.clients:
                    self._read_client(arg)
            elif kind == "pipe":
                if arg in self.pipes:
                    self._read_pipe(arg)
            elif kind == "notify":
                self._read_notify()
        self.reap()
        if self.pending_signals:
            self._handle_signals()
        now = time.monotonic()
        while self.timers and (self.timers[0].cancelled or self.timers[0].when <= now):
            t = heapq.heappop(self.timers)
            if not t.cancelled:
                t.callback()


# ---------------------------------------------------------------------------------------------
# Requests from systemctl (one JSON object per connection; see systemctl.py for the client)

#: What a caller that is not root may ask: systemd's D-Bus API lets every user read units'
#: state (GetUnit, properties, ListUnits, ListUnitFiles, GetUnitFileState) without polkit;
#: everything else (jobs, enable/disable, daemon-reload, kill, reset-failed, poweroff) goes
#: through polkit's org.freedesktop.systemd1.manage-units / manage-unit-files / reload-daemon,
#: which a non-interactive caller without an agent is refused.
READ_ONLY_OPS = frozenset(
    {"ping", "show", "status", "list-units", "list-unit-files", "is-enabled", "list-timers"}
)
DENIED = "Interactive authentication required."


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of a unix socket (SO_PEERCRED)."""
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return -1
    return int(struct.unpack("3i", creds)[1])


SERVICE_ONLY = (
    "Type",
    "StatusText",
    "Restart",
    "PIDFile",
    "RemainAfterExit",
    "RestartUSec",
    "TimeoutStartUSec",
    "TimeoutStopUSec",
    "MainPID",
    "ControlPID",
    "StatusErrno",
    "NRestarts",
    "ExecMainStartTimestamp",
    "ExecMainExitTimestamp",
    "ExecMainPID",
    "ExecMainCode",
    "ExecMainStatus",
    "ExecStartPre",
    "ExecStart",
    "ExecStartPost",
    "ExecStop",
    "ExecStopPost",
    "ExecReload",
    "Environment",
    "EnvironmentFiles",
    "WorkingDirectory",
    "User",
    "Group",
    "LimitNOFILE",
    "LimitNOFILESoft",
    "KillMode",
    "KillSignal",
    "SendSIGKILL",
    "SyslogIdentifier",
    "ExecMainStartTimestampEpoch",
    "CanReload",
)


def _usec_timestamp(usec: int | None) -> str:
    """A timer's timestamp property (``NextElapseUSecRealtime``, ``LastTriggerUSec``) as
    systemctl show prints it, ``n/a`` when unset."""
    return CAL.format_timestamp_usec(usec) if usec else "n/a"


def timer_properties(m: Manager, unit: Unit) -> dict[str, str]:
    """The [Timer] properties of ``systemctl show`` (systemd 249 names and formats)."""
    cfg = unit.config
    plan = unit.timer_plan if unit.active_state == "active" else None
    clocks = m._timer_clocks(unit)
    nxt_real = plan.next_realtime if plan is not None else None
    nxt_mono = plan.next_monotonic if plan is not None else None
    mono_parts = []
    for i, (base, value) in enumerate(cfg.timer_monotonic):
        when = (
            plan.monotonic_next[i] if plan is not None and i < len(plan.monotonic_next) else None
        )
        shown = "n/a" if when is None else U.format_timespan(max(0.0, when - m.boot_monotonic))
        mono_parts.append(f"{{ {base}={U.format_timespan(value)} ; next_elapse={shown} }}")
    cal_parts = []
    for i, expr in enumerate(cfg.timer_calendar):
        nxt = plan.calendar_next[i] if plan is not None and i < len(plan.calendar_next) else None
        cal_parts.append(f"{{ OnCalendar={expr} ; next_elapse={_usec_timestamp(nxt)} }}")
    return {
        "Unit": cfg.timer_unit,
        "Triggers": cfg.timer_unit,
        "TimersMonotonic": " ".join(mono_parts),
        "TimersCalendar": " ".join(cal_parts),
        "OnClockChange": "yes" if cfg.on_clock_change else "no",
        "OnTimezoneChange": "yes" if cfg.on_timezone_change else "no",
        "NextElapseUSecRealtime": _usec_timestamp(nxt_real),
        "NextElapseUSecMonotonic": (
            U.format_timespan(max(0.0, nxt_mono - m.boot_monotonic))
            if nxt_mono is not None
            else "infinity"
        ),
        "LastTriggerUSec": _usec_timestamp(unit.last_trigger_realtime),
        "LastTriggerUSecMonotonic": (
            U.format_timespan(unit.last_trigger_monotonic - m.boot_monotonic)
            if unit.last_trigger_monotonic
            else "0"
        ),
        "Result": unit.result,
        "AccuracyUSec": U.format_timespan(cfg.accuracy_sec),
        "RandomizedDelayUSec": U.format_timespan(cfg.randomized_delay_sec),
        "FixedRandomDelay": "no",
        "Persistent": "yes" if cfg.persistent else "no",
        "WakeSystem": "yes" if cfg.wake_system else "no",
        "RemainAfterElapse": "yes" if cfg.remain_after_elapse else "no",
        "NextElapseUSecRealtimeEpoch": (
            str(TM.next_realtime_usec(plan, clocks) or 0) if plan is not None else "0"
        ),
    }


def unit_properties(m: Manager, unit: Unit) -> dict[str, str]:
    """Properties as ``systemctl show`` prints them."""
    props = _unit_properties(m, unit)
    if unit.name.endswith(".timer"):
        for k in SERVICE_ONLY:
            props.pop(k, None)
        props.update(timer_properties(m, unit))
    return props


def _unit_properties(m: Manager, unit: Unit) -> dict[str, str]:
    cfg = unit.config
    ts = U.format_timestamp

    def cmds(lst: list[U.Command]) -> str:
        return " ".join(
            f"{{ path={c.path} ; argv[]={' '.join(c.argv)} ; "
            f"ignore_errors={'yes' if c.ignore_failure else 'no'} }}"
            for c in lst
        )

    env = " ".join(f"{k}={v}" for k, v in cfg.environment)
    nofile = cfg.limit_nofile or resource.getrlimit(resource.RLIMIT_NOFILE)
    return {
        "Type": cfg.type,
        "StatusText": unit.status_text,
        "Restart": cfg.restart,
        "PIDFile": cfg.pid_file,
        "RemainAfterExit": "yes" if cfg.remain_after_exit else "no",
        "RestartUSec": U.format_timespan(cfg.restart_sec),
        "TimeoutStartUSec": U.format_timespan(cfg.effective_timeout_start),
        "TimeoutStopUSec": U.format_timespan(cfg.timeout_stop),
        "MainPID": str(unit.main_pid),
        "ControlPID": str(unit.control_pid),
        "StatusErrno": "0",
        "Result": unit.result,
        "NRestarts": str(unit.n_restarts),
        "ExecMainStartTimestamp": ts(unit.exec_main_start),
        "ExecMainExitTimestamp": ts(unit.exec_main_exit),
        "ExecMainPID": str(unit.exec_main_pid),
        "ExecMainCode": str(unit.exec_main_code),
        "ExecMainStatus": str(unit.exec_main_status),
        "ExecStartPre": cmds(cfg.exec_start_pre),
        "ExecStart": cmds(cfg.exec_start),
        "ExecStartPost": cmds(cfg.exec_start_post),
        "ExecStop": cmds(cfg.exec_stop),
        "ExecStopPost": cmds(cfg.exec_stop_post),
        "ExecReload": cmds(cfg.exec_reload),
        "Environment": env,
        "EnvironmentFiles": " ".join(
            f"{p} (ignore_errors={'yes' if o else 'no'})" for p, o in cfg.environment_files
        ),
        "WorkingDirectory": ("!" if cfg.working_directory_optional else "")
        + (cfg.working_directory or "/"),
        "User": cfg.user,
        "Group": cfg.group,
        "LimitNOFILE": str(nofile[1]),
        "LimitNOFILESoft": str(nofile[0]),
        "KillMode": cfg.kill_mode,
        "KillSignal": str(cfg.kill_signal),
        "SendSIGKILL": "yes" if cfg.send_sigkill else "no",
        "SyslogIdentifier": cfg.syslog_identifier,
        "Id": unit.name,
        "Names": unit.name,
        "Description": cfg.description,
        "LoadState": cfg.load_state,
        "LoadError": cfg.load_error,
        "ActiveState": unit.active_state,
        "SubState": unit.sub_state,
        "FragmentPath": cfg.fragment if cfg.load_state != "masked" else "",
        "DropInPaths": " ".join(cfg.dropins),
        "UnitFileState": U.enabled_state(unit.name) if cfg.load_state != "not-found" else "",
        "UnitFilePreset": "enabled" if cfg.load_state == "loaded" else "",
        "StateChangeTimestamp": ts(unit.state_change),
        "ActiveEnterTimestamp": ts(unit.active_enter),
        "ActiveExitTimestamp": ts(unit.active_exit),
        "InactiveEnterTimestamp": ts(unit.inactive_enter),
        "InactiveExitTimestamp": ts(unit.inactive_exit),
        "StateChangeTimestampMonotonic": "0",
        "ActiveEnterTimestampEpoch": f"{unit.active_enter:.6f}",
        "InactiveEnterTimestampEpoch": f"{unit.inactive_enter:.6f}",
        "ExecMainStartTimestampEpoch": f"{unit.exec_main_start:.6f}",
        "CanStart": "yes" if cfg.load_state == "loaded" else "no",
        "CanStop": "yes",
        "CanReload": "yes" if cfg.exec_reload else "no",
        "NeedDaemonReload": "yes" if m.need_daemon_reload(unit) else "no",
        "InvocationID": unit.invocation_id,
        "Wants": " ".join(cfg.wants),
        "Requires": " ".join(cfg.requires),
        "WantedBy": " ".join(cfg.wanted_by),
        "After": " ".join(cfg.after),
        "Before": " ".join(cfg.before),
        "StartLimitIntervalUSec": U.format_timespan(cfg.start_limit_interval),
        "StartLimitBurst": str(cfg.start_limit_burst),
        "Job": str(unit.job.id) if unit.job and not unit.job.done else "",
    }


def _names(req: dict[str, Any]) -> list[str]:
    """The units of a request, an alias name standing for the unit it links to."""
    return [U.canonical_name(U.unit_name(n)) for n in req.get("units") or []]


JOB_OPS = (
    "start",
    "stop",
    "restart",
    "try-restart",
    "reload",
    "reload-or-restart",
    "try-reload-or-restart",
)


def handle(m: Manager, req: dict[str, Any]) -> TaskGen:
    """Serve one request; the returned dict is the reply."""
    op = req.get("op")
    try:
        names = _names(req)
    except U.UnitError as e:
        return {"error": str(e)}
    if op == "ping":
        return {"ok": True, "pid": os.getpid()}
    if op in ("poweroff", "halt"):
        m.shutdown()
        return {"ok": True}
    if op in JOB_OPS:
        return (yield from _handle_jobs(m, op, names, bool(req.get("no_block"))))
    if op in ("show", "status"):
        out = []
        for name in names:
            unit = m.get_unit(name)
            item: dict[str, Any] = {"name": name, "props": unit_properties(m, unit)}
            if op == "status":
                item["processes"] = [[pid, cmdline(pid)] for pid in m.unit_processes(unit)]
                item["main_comm"] = comm(unit.main_pid) if unit.main_pid else ""
            out.append(item)
        return {"units": out}
    if op == "list-units":
        listed = set(m.units) | set(U.enabled_units())
        out = []
        for name in sorted(listed):
            unit = m.get_unit(name)
            out.append(
                {
                    "unit": name,
                    "load": unit.config.load_state,
                    "active": unit.active_state,
                    "sub": unit.sub_state,
                    "description": unit.config.description,
                }
            )
        return {"units": out}
    if op == "list-timers":
        listed = set(n for n in m.units if n.endswith(".timer"))
        listed |= {n for n in U.enabled_units() if n.endswith(".timer")}
        now = time.time_ns() // 1000
        out = []
        for name in sorted(listed):
            unit = m.get_unit(name)
            if unit.config.load_state != "loaded":
                continue
            plan = unit.timer_plan if unit.active_state == "active" else None
            nxt = TM.next_realtime_usec(plan, m._timer_clocks(unit)) if plan else None
            out.append(
                {
                    "unit": name,
                    "active": unit.active_state,
                    "next": nxt or 0,
                    "last": unit.last_trigger_realtime,
                    "activates": unit.config.timer_unit,
                    "now": now,
                }
            )
        return {"timers": out}
    if op == "list-unit-files":
        return {"files": [[n, U.enabled_state(n)] for n in U.unit_files()]}
    if op in ("enable", "disable", "mask", "unmask"):
        fn = {
            "enable": U.enable_unit,
            "disable": U.disable_unit,
            "mask": U.mask_unit,
            "unmask": U.unmask_unit,
        }[op]
        changes, errors, no_install = [], [], []
        for name in names:
            try:
                ch = fn(name)
                if op == "enable" and not ch and U.enabled_state(name) == "static":
                    no_install.append(name)
                changes += [[c.kind, c.path, c.target] for c in ch]
            except (U.UnitError, OSError) as e:
                errors.append(str(e))
        if not req.get("no_reload"):
            m.daemon_reload()
        return {"changes": changes, "errors": errors, "no_install": no_install}
    if op == "is-enabled":
        return {"states": [[n, U.enabled_state(n)] for n in names]}
    if op == "daemon-reload":
        m.daemon_reload()
        return {"ok": True}
    if op == "reset-failed":
        for unit in list(m.units.values()):
            if names and unit.name not in names:
                continue
            if unit.active_state == "failed":
                m.set_state(unit, "inactive", "dead")
            unit.result = "success"
            unit.starts.clear()
        return {"ok": True}
    if op == "kill":
        sig = int(req.get("signal") or signal.SIGTERM)
        whom = req.get("whom") or "all"
        results: list[dict[str, Any]] = []
        for name in names:
            unit = m.get_unit(name)
            if unit.config.load_state == "not-found" and unit.idle:
                results.append({"unit": name, "error": "not-loaded"})
                continue
            sent = m.signal_unit(unit, sig, whom)
            results.append({"unit": name, "pids": sent})
        return {"results": results}
    return {"error": f"Unknown operation {op!r}"}
    yield  # a generator, always


def _handle_jobs(m: Manager, op: str, names: list[str], no_block: bool) -> TaskGen:
    results: list[dict[str, Any]] = []
    waits: list[tuple[dict[str, Any], Task, Unit]] = []
    for name in names:
        unit = m.get_unit(name)
        cfg = unit.config
        entry: dict[str, Any] = {"unit": name, "ok": True}
        results.append(entry)
        if m.need_daemon_reload(unit):
            entry["warning"] = "need-daemon-reload"
        if op == "stop":
            if cfg.load_state == "not-found" and unit.idle:
                entry.update(ok=False, error="not-loaded")
                continue
            waits.append((entry, m.enqueue(unit, "stop"), unit))
            continue
        if cfg.load_state == "not-found":
            entry.update(ok=False, error="not-found")
            continue
        if cfg.load_state == "masked":
            entry.update(ok=False, error="masked")
            continue
        if cfg.load_state == "bad-setting":
            entry.update(ok=False, error="bad-setting", message=cfg.load_error)
            continue
        active = unit.active_state in ("active", "reloading", "activating")
        kind: str | None
        if op == "start":
            kind = "start"
        elif op == "restart":
            kind = "restart"
        elif op == "try-restart":
            kind = "restart" if active else None
        elif op == "reload":
            if not cfg.exec_reload:
                entry.update(ok=False, error="reload-not-applicable")
                continue
            if unit.active_state != "active":
                entry.update(ok=False, error="not-active")
                continue
            kind = "reload"
        elif op == "reload-or-restart":
            kind = "reload" if (cfg.exec_reload and unit.active_state == "active") else "restart"
        else:  # try-reload-or-restart
            kind = (
                None
                if not active
                else ("reload" if cfg.exec_reload and unit.active_state == "active" else "restart")
            )
        if kind is None:
            continue
        waits.append((entry, m.enqueue(unit, kind), unit))
    if no_block:
        return {"results": results}
    for entry, task, unit in waits:
        if not task.done:
            yield WaitTask(task)
        res = task.result
        if res == CANCELED:
            entry.update(ok=False, error="canceled")
        elif res == "failed":
            entry.update(ok=False, error="failed", result=unit.result)
        elif res in ("not-found", "masked", "bad-setting", "not-active"):
            entry.update(ok=False, error=res)
    return {"results": results}
