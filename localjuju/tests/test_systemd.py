"""The machine's systemd stand-in: unit files, and the supervisor run against a directory.

The supervisor (``python -m localjuju.machine.init``) runs here as a child subreaper of the test
with ``LOCALJUJU_MACHINE_ROOT`` pointing at a temporary directory; ``systemctl`` and
``journalctl`` talk to it as they do inside a machine. Every wait polls a condition with a
deadline.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from localjuju.machine import units as U

PY = sys.executable
DEADLINE = 20.0
T = TypeVar("T")


def wait_until(cond: Callable[[], T | None], timeout: float = DEADLINE, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or cond}")
        time.sleep(0.02)


class Machine:
    """A supervisor running against ``root``; commands run with the same environment."""

    def __init__(self, root: Path, store: str | None = None) -> None:
        self.root = root
        self.env = dict(os.environ)
        self.env["LOCALJUJU_MACHINE_ROOT"] = str(root)
        if store:
            self.env["LOCALJUJU_STORE"] = store
        self.proc: subprocess.Popen[bytes] | None = None

    def path(self, p: str) -> Path:
        return self.root / p.lstrip("/")

    def write(self, p: str, text: str) -> Path:
        f = self.path(p)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
        return f

    def unit(self, name: str, text: str) -> Path:
        return self.write(f"/etc/systemd/system/{name}", text)

    def boot(self) -> None:
        self.path("/run/localjuju").mkdir(parents=True, exist_ok=True)
        log = open(self.root / "init.out", "wb")  # noqa: SIM115 (closed at shutdown)
        self.proc = proc = subprocess.Popen(
            [PY, "-m", "localjuju.machine.init"], env=self.env, stdout=log, stderr=log
        )
        log.close()
        ready = self.path("/run/localjuju/ready")
        wait_until(lambda: ready.exists() or proc.poll() is not None, what="init ready")
        assert proc.poll() is None, (self.root / "init.out").read_text()

    def shutdown(self, timeout: float = DEADLINE) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise

    def run(
        self, module: str, *args: str, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        p = subprocess.run(
            [PY, "-m", f"localjuju.machine.{module}", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and p.returncode != 0:
            raise AssertionError(f"{module} {' '.join(args)}: rc={p.returncode}\n{p.stderr}")
        return p

    def systemctl(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", *args, check=check)

    def prop(self, unit: str, name: str) -> str:
        return self.systemctl("show", "-p", name, "--value", unit, check=True).stdout.strip()

    def journal(self, unit: str) -> str:
        return self.run("journalctl", "-u", unit, "--no-pager", "-n", "all").stdout


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[Machine]:
    m = Machine(tmp_path / "root")
    m.root.mkdir()
    yield m
    if m.proc is not None:
        m.shutdown()


@pytest.fixture
def booted(machine: Machine) -> Machine:
    machine.boot()
    return machine


SLEEPER = """[Unit]
Description=A sleeper

[Service]
ExecStart=/bin/sh -c 'echo started $GREETING; exec sleep 600'
Environment=GREETING=hello
{extra}

[Install]
WantedBy=multi-user.target
"""


# ---------------------------------------------------------------------------------------------
# Unit files (no supervisor)


def test_parse_ini_continuations_and_comments() -> None:
    items = U.parse_ini("[Service]\n# c\nExecStart=/bin/echo a \\\n  b\n; x\nType=simple\n")
    assert items == [("Service", "ExecStart", "/bin/echo a b"), ("Service", "Type", "simple")]


def test_parse_command_prefixes_and_quotes() -> None:
    c = U.parse_command("-/bin/sh -c 'echo \"a b\"; exit 1'")
    assert c.ignore_failure and c.argv == ["/bin/sh", "-c", 'echo "a b"; exit 1']
    c = U.parse_command("@/bin/sleep mysleep 5")
    assert c.argv == ["/bin/sleep", "5"] and c.argv0 == "mysleep"


def test_expand_argv_like_systemd() -> None:
    env = {"A": "x y", "B": "z"}
    assert U.expand_argv(["/p", "$A", "${A}", "-v=${B}", "$B"], env) == [
        "/p",
        "x",
        "y",
        "x y",
        "-v=z",
        "z",
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("100ms", 0.1), ("5", 5.0), ("1min 30s", 90.0), ("2m", 120.0), ("infinity", U.INFINITY)],
)
def test_timespans(text: str, seconds: float) -> None:
    assert U.parse_timespan(text) == seconds


def test_format_timespan() -> None:
    assert U.format_timespan(0.1) == "100ms"
    assert U.format_timespan(90) == "1min 30s"
    assert U.format_timespan(U.INFINITY) == "infinity"


def test_env_file_parsing() -> None:
    env = U.parse_env_file('# c\nA=1\nB="two words"\nexport C=3\nbad line\n')
    assert env == {"A": "1", "B": "two words", "C": "3"}


def test_dropins_override_and_reset(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALJUJU_MACHINE_ROOT", str(machine.root))
    machine.unit("a.service", "[Service]\nExecStart=/bin/true one\nEnvironment=X=1 Y=2\n")
    machine.write("/etc/systemd/system/a.service.d/20-b.conf", "[Service]\nEnvironment=X=3\n")
    machine.write(
        "/etc/systemd/system/a.service.d/10-a.conf", "[Service]\nExecStart=\nExecStart=/bin/true\n"
    )
    machine.write("/run/systemd/system/a.service.d/30-c.conf", "[Service]\nRestart=always\n")
    cfg = U.load_unit_config("a.service")
    assert cfg.load_state == "loaded"
    assert [c.argv for c in cfg.exec_start] == [["/bin/true"]]
    assert dict(cfg.environment) == {"X": "3", "Y": "2"}
    assert cfg.restart == "always"
    assert [os.path.basename(d) for d in cfg.dropins] == ["10-a.conf", "20-b.conf", "30-c.conf"]


def test_bad_units_are_reported(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALJUJU_MACHINE_ROOT", str(machine.root))
    machine.unit("two.service", "[Service]\nExecStart=/bin/true\nExecStart=/bin/false\n")
    assert U.load_unit_config("two.service").load_state == "bad-setting"
    assert U.load_unit_config("none.service").load_state == "not-found"


def test_enable_disable_mask(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALJUJU_MACHINE_ROOT", str(machine.root))
    machine.unit("s.service", SLEEPER.format(extra=""))
    machine.unit("static.service", "[Service]\nExecStart=/bin/true\n")
    assert U.enabled_state("s.service") == "disabled"
    assert U.enabled_state("static.service") == "static"
    changes = U.enable_unit("s.service")
    link = "/etc/systemd/system/multi-user.target.wants/s.service"
    assert [(c.kind, c.path, c.target) for c in changes] == [
        ("symlink", link, "/etc/systemd/system/s.service")
    ]
    assert U.enabled_state("s.service") == "enabled"
    assert U.enabled_units() == ["s.service"]
    assert U.enable_unit("s.service") == []
    assert [c.path for c in U.disable_unit("s.service")] == [link]
    assert U.enabled_state("s.service") == "disabled"
    U.mask_unit("other.service")
    assert U.enabled_state("other.service") == "masked"
    assert U.load_unit_config("other.service").load_state == "masked"
    U.unmask_unit("other.service")
    assert U.enabled_state("other.service") == "not-found"


def test_journal_records_roundtrip() -> None:
    line = U.format_record(1700000000.25, "etcd.etcd", 42, "hello: world")
    rec = U.parse_record(line, "u.service")
    assert rec is not None
    assert (rec.ts, rec.ident, rec.pid, rec.message) == (
        1700000000.25,
        "etcd.etcd",
        42,
        "hello: world",
    )


def test_systemctl_without_supervisor(machine: Machine) -> None:
    p = machine.systemctl("start", "foo")
    assert p.returncode == 1
    assert "System has not been booted with systemd as init system (PID 1). Can't operate." in (
        p.stderr
    )


# ---------------------------------------------------------------------------------------------
# The supervisor


def test_start_status_stop(booted: Machine) -> None:
    m = booted
    m.unit("s.service", SLEEPER.format(extra=""))
    assert m.systemctl("is-active", "s").stdout.strip() == "inactive"
    assert m.systemctl("is-active", "s").returncode == 3
    assert m.systemctl("start", "s").returncode == 0
    assert m.systemctl("is-active", "s").returncode == 0
    pid = int(m.prop("s.service", "MainPID"))
    assert pid > 0 and os.path.exists(f"/proc/{pid}")
    status = m.systemctl("status", "s")
    assert status.returncode == 0
    assert "Active: active (running) since" in status.stdout
    assert f"Main PID: {pid} (sleep)" in status.stdout
    wait_until(lambda: "started hello" in m.journal("s.service"), what="service output")
    assert m.systemctl("stop", "s").returncode == 0
    assert m.prop("s.service", "ActiveState") == "inactive"
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), what="process gone")
    status = m.systemctl("status", "s")
    assert status.returncode == 3 and "Active: inactive (dead) since" in status.stdout


def test_restart_always_after_sigkill(booted: Machine) -> None:
    m = booted
    m.unit("s.service", SLEEPER.format(extra="Restart=always"))
    m.systemctl("start", "s", check=True)
    pid = int(m.prop("s.service", "MainPID"))
    m.systemctl("kill", "-s", "SIGKILL", "s", check=True)

    def new_pid() -> int:
        p = int(m.prop("s.service", "MainPID"))
        return p if p not in (0, pid) else 0

    newer = wait_until(new_pid, what="restarted main process")
    assert newer != pid
    assert m.prop("s.service", "NRestarts") == "1"
    assert m.prop("s.service", "ActiveState") == "active"
    journal = m.journal("s.service")
    assert "Main process exited, code=killed, status=9/KILL" in journal
    assert "Scheduled restart job, restart counter is at 1." in journal


def test_on_failure_policy_and_start_limit(booted: Machine) -> None:
    m = booted
    m.unit("ok.service", "[Service]\nExecStart=/bin/sh -c 'exit 0'\nRestart=on-failure\n")
    m.systemctl("start", "ok", check=True)
    wait_until(lambda: m.prop("ok.service", "ActiveState") == "inactive", what="clean exit")
    assert m.prop("ok.service", "NRestarts") == "0"
    m.unit(
        "bad.service",
        "[Service]\nExecStart=/bin/sh -c 'exit 3'\nRestart=on-failure\nRestartSec=0\n",
    )
    m.systemctl("start", "bad")
    wait_until(lambda: m.prop("bad.service", "ActiveState") == "failed", what="start limit")
    assert m.prop("bad.service", "Result") == "start-limit-hit"
    assert m.systemctl("is-failed", "bad").returncode == 0
    p = m.systemctl("start", "bad")
    assert p.returncode == 1
    assert "failed because start of the service was attempted too often" in p.stderr
    m.systemctl("reset-failed", "bad", check=True)
    assert m.prop("bad.service", "ActiveState") == "inactive"


def test_oneshot_and_failing_pre(booted: Machine) -> None:
    m = booted
    marker = m.path("/tmp/oneshot-done")
    marker.parent.mkdir(parents=True, exist_ok=True)
    m.unit(
        "one.service",
        "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        f"ExecStart=/bin/sh -c 'sleep 0.2; touch {marker}'\n",
    )
    assert m.systemctl("start", "one").returncode == 0
    assert marker.exists()  # start returned only once the oneshot finished
    assert (m.prop("one.service", "ActiveState"), m.prop("one.service", "SubState")) == (
        "active",
        "exited",
    )
    m.unit("failone.service", "[Service]\nType=oneshot\nExecStart=/bin/false\n")
    p = m.systemctl("start", "failone")
    assert p.returncode == 1
    assert (
        "Job for failone.service failed because the control process exited with error code."
        in (p.stderr)
    )
    m.unit("pre.service", "[Service]\nExecStartPre=/bin/false\nExecStart=/bin/sleep 600\n")
    assert m.systemctl("start", "pre").returncode == 1
    assert m.prop("pre.service", "ActiveState") == "failed"
    assert m.prop("pre.service", "MainPID") == "0"


def test_missing_executable(booted: Machine) -> None:
    m = booted
    m.unit("simple.service", "[Service]\nExecStart=/nonexistent/daemon\n")
    m.unit("exec.service", "[Service]\nType=exec\nExecStart=/nonexistent/daemon\n")
    assert m.systemctl("start", "simple").returncode == 0  # as systemd: the fork worked
    wait_until(lambda: m.prop("simple.service", "ActiveState") == "failed", what="exec failure")
    assert m.prop("simple.service", "ExecMainStatus") == "203"
    assert m.systemctl("start", "exec").returncode == 1
    assert "Failed at step EXEC spawning /nonexistent/daemon" in m.journal("exec.service")


def test_sighup_reloads_units(booted: Machine) -> None:
    m = booted
    m.unit("s.service", SLEEPER.format(extra=""))
    m.systemctl("enable", "s", check=True)
    assert m.prop("s.service", "Restart") == "no"
    time.sleep(0.01)  # a distinct mtime for the edited file
    m.unit("s.service", SLEEPER.format(extra="Restart=always"))
    assert m.prop("s.service", "NeedDaemonReload") == "yes"
    assert m.proc is not None
    m.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: m.prop("s.service", "Restart") == "always", what="reload on SIGHUP")


def test_stop_timeout_escalates_to_sigkill(booted: Machine) -> None:
    m = booted
    m.unit(
        "stubborn.service",
        "[Service]\nExecStart=/bin/sh -c 'trap \"\" TERM; while :; do sleep 0.05; done'\n"
        "TimeoutStopSec=0.5\n",
    )
    m.systemctl("start", "stubborn", check=True)
    t0 = time.monotonic()
    m.systemctl("stop", "stubborn")
    assert time.monotonic() - t0 >= 0.5
    assert m.prop("stubborn.service", "ActiveState") == "failed"
    assert m.prop("stubborn.service", "Result") == "timeout"
    assert "State 'stop-sigterm' timed out. Killing." in m.journal("stubborn.service")


def test_limits_user_and_working_directory(booted: Machine) -> None:
    if os.geteuid() != 0:
        pytest.skip("User= needs root")
    m = booted
    m.path("/srv/work").mkdir(parents=True)
    m.unit(
        "lim.service",
        "[Service]\nExecStart=/bin/sleep 600\nLimitNOFILE=4321\nUser=nobody\n"
        "WorkingDirectory=/srv/work\n",
    )
    m.systemctl("start", "lim", check=True)
    pid = int(m.prop("lim.service", "MainPID"))
    limits = Path(f"/proc/{pid}/limits").read_text()
    assert any(
        line.startswith("Max open files") and "4321" in line for line in limits.splitlines()
    )
    assert os.stat(f"/proc/{pid}").st_uid == 65534
    assert os.readlink(f"/proc/{pid}/cwd") == str(m.path("/srv/work"))


def test_forking_with_pidfile(booted: Machine) -> None:
    m = booted
    pidfile = m.path("/run/fork.pid")
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    m.unit(
        "fork.service",
        "[Service]\nType=forking\nPIDFile=/run/fork.pid\n"
        f"ExecStart=/bin/sh -c 'setsid sleep 600 & echo $! > {pidfile}'\n",
    )
    m.systemctl("start", "fork", check=True)
    pid = int(pidfile.read_text())
    assert m.prop("fork.service", "MainPID") == str(pid)
    m.systemctl("stop", "fork", check=True)
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), what="forked daemon stopped")


def test_daemon_reload_needed_for_loaded_units(booted: Machine) -> None:
    m = booted
    m.unit("s.service", SLEEPER.format(extra=""))
    m.systemctl("enable", "--now", "s", check=True)
    assert m.prop("s.service", "Environment") == "GREETING=hello"
    time.sleep(0.01)  # a distinct mtime for the edited file
    m.write(
        "/etc/systemd/system/s.service.d/override.conf", "[Service]\nEnvironment=GREETING=hi\n"
    )
    assert m.prop("s.service", "NeedDaemonReload") == "yes"
    p = m.systemctl("restart", "s")
    assert "changed on disk. Run 'systemctl daemon-reload' to reload units." in p.stderr
    m.systemctl("daemon-reload", check=True)
    assert m.prop("s.service", "NeedDaemonReload") == "no"
    m.systemctl("restart", "s", check=True)
    wait_until(lambda: "started hi" in m.journal("s.service"), what="new environment")
    assert "Drop-In: /etc/systemd/system/s.service.d" in m.systemctl("status", "s").stdout


def test_errors_like_systemd(booted: Machine) -> None:
    m = booted
    p = m.systemctl("start", "nope")
    assert (p.returncode, p.stderr.strip()) == (
        5,
        "Failed to start nope.service: Unit nope.service not found.",
    )
    p = m.systemctl("stop", "nope")
    assert (p.returncode, p.stderr.strip()) == (
        5,
        "Failed to stop nope.service: Unit nope.service not loaded.",
    )
    p = m.systemctl("status", "nope")
    assert (p.returncode, p.stderr.strip()) == (4, "Unit nope.service could not be found.")
    p = m.systemctl("is-enabled", "nope")
    assert p.returncode == 1 and "No such file or directory" in p.stderr
    p = m.systemctl("enable", "nope")
    assert p.returncode == 1
    assert p.stderr.strip() == "Failed to enable unit: Unit file nope.service does not exist."
    m.unit("s.service", SLEEPER.format(extra=""))
    m.systemctl("mask", "s2", check=True)
    p = m.systemctl("start", "s2")
    assert (p.returncode, p.stderr.strip()) == (
        1,
        "Failed to start s2.service: Unit s2.service is masked.",
    )


def test_boot_starts_enabled_units_and_sigterm_stops_them(machine: Machine) -> None:
    m = machine
    m.unit("a.service", SLEEPER.format(extra=""))
    m.unit("b.service", SLEEPER.format(extra="").replace("[Unit]", "[Unit]\nAfter=a.service"))
    m.unit("c.service", SLEEPER.format(extra=""))
    for name in ("a.service", "b.service"):
        link = m.path(f"/etc/systemd/system/multi-user.target.wants/{name}")
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(f"/etc/systemd/system/{name}")
    m.boot()
    wait_until(lambda: m.prop("b.service", "ActiveState") == "active", what="boot")
    assert m.prop("a.service", "ActiveState") == "active"
    assert m.prop("c.service", "ActiveState") == "inactive"
    pids = [int(m.prop(u, "MainPID")) for u in ("a.service", "b.service")]
    assert m.shutdown() == 0
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}")
    assert not m.path("/run/localjuju/systemd.sock").exists()


def test_looks_like_systemd_to_charmhelpers(booted: Machine) -> None:
    assert booted.path("/run/systemd/system").is_dir()


def test_journalctl_lines_and_empty(booted: Machine) -> None:
    m = booted
    m.unit("chatty.service", "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'seq 1 30'\n")
    m.systemctl("start", "chatty", check=True)
    wait_until(lambda: "30" in m.run("journalctl", "-u", "chatty", "-o", "cat").stdout.split())
    out = m.run("journalctl", "-u", "chatty", "-t", "sh", "-n", "3", "-o", "cat").stdout
    assert out.splitlines() == ["28", "29", "30"]
    short = m.run("journalctl", "-u", "chatty", "-n", "1", "-t", "sh").stdout
    assert short.rstrip().endswith("sh[" + short.split("sh[")[1].split("]")[0] + "]: 30")
    assert m.run("journalctl", "-u", "never").stdout.strip() == "-- No entries --"


def test_journalctl_follow(booted: Machine) -> None:
    m = booted
    m.unit(
        "tick.service",
        "[Service]\nExecStart=/bin/sh -c 'echo tick-1; sleep 0.3; echo tick-2; sleep 600'\n",
    )
    out = m.root / "follow.out"
    with open(out, "wb") as f:
        follower = subprocess.Popen(
            [PY, "-m", "localjuju.machine.journalctl", "-u", "tick", "-f", "-o", "cat"],
            env=m.env,
            stdout=f,
        )
    try:
        m.systemctl("start", "tick", check=True)
        wait_until(lambda: "tick-2" in out.read_text(), what="followed output")
        assert out.read_text().index("tick-1") < out.read_text().index("tick-2")
    finally:
        follower.terminate()
        follower.wait(5)


def test_poweroff_via_systemctl(booted: Machine) -> None:
    m = booted
    m.unit("s.service", SLEEPER.format(extra=""))
    m.systemctl("start", "s", check=True)
    pid = int(m.prop("s.service", "MainPID"))
    m.systemctl("poweroff", check=True)
    assert m.proc is not None and m.proc.wait(DEADLINE) == 0
    assert not os.path.exists(f"/proc/{pid}")


# ---------------------------------------------------------------------------------------------
# What Debian's etcd.service uses: specifiers, EnvironmentFile=, Type=notify, User= with
# PermissionsStartOnly=


def test_specifiers_and_environment_file(booted: Machine) -> None:
    m = booted
    out = m.path("/srv/env")
    out.parent.mkdir(parents=True, exist_ok=True)
    m.unit(
        "spec@.service",
        "[Service]\nEnvironment=A=%p B=%i C=%n D=%H E=untouched\n"
        "EnvironmentFile=-/etc/default/%p\nEnvironmentFile=-/etc/default/missing\n"
        f"ExecStart=/bin/sh -c 'env > {out}; exec sleep 600'\n",
    )
    m.write("/etc/default/spec", "# comment\nE=from-file\nF='quoted value'\n")
    m.systemctl("start", "spec@one", check=True)
    wait_until(lambda: out.exists() and out.read_text().endswith("\n"), what="env written")
    env = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    assert (env["A"], env["B"], env["C"]) == ("spec", "one", "spec@one.service")
    assert env["D"] == socket.gethostname()
    assert (env["E"], env["F"]) == ("from-file", "quoted value")
    # a missing file without '-' fails the start
    m.unit("strict.service", "[Service]\nEnvironmentFile=/etc/default/none\nExecStart=/bin/true\n")
    assert m.systemctl("start", "strict").returncode == 1
    assert m.prop("strict.service", "Result") == "resources"


def test_notify_failures(booted: Machine) -> None:
    m = booted
    script = m.write("/usr/local/bin/svc", "#!/bin/sh\nsleep 0.2\nexit 0\n")
    script.chmod(0o755)
    m.unit("early.service", "[Service]\nType=notify\nExecStart=/usr/local/bin/svc\n")
    p = m.systemctl("start", "early")
    assert p.returncode == 1
    assert m.prop("early.service", "Result") == "protocol"
    m.unit(
        "silent.service", "[Service]\nType=notify\nExecStart=/bin/sleep 600\nTimeoutStartSec=0.5\n"
    )
    t0 = time.monotonic()
    p = m.systemctl("start", "silent")
    assert p.returncode == 1 and time.monotonic() - t0 >= 0.5
    assert m.prop("silent.service", "Result") == "timeout"
    assert m.prop("silent.service", "ActiveState") == "failed"
    # READY=1 from another process than the main one is not accepted (NotifyAccess=main)
    sender = m.write(
        "/usr/local/bin/notify-ready",
        "#!/usr/bin/python3\nimport os, socket\n"
        "a = os.environ['NOTIFY_SOCKET']\na = chr(0) + a[1:] if a[0] == '@' else a\n"
        "socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'READY=1', a)\n"
        "import sys\nif sys.argv[1:] == ['stay']:\n    os.execv('/bin/sleep', ['sleep', '600'])\n",
    )
    sender.chmod(0o755)
    # The sender stays alive (it execs sleep): as systemd, the supervisor finds the unit of a
    # notification from the sender's process, and one that has exited by the time the datagram
    # is read (a loaded machine) is ignored. 5 s for a Python start under load.
    m.unit(
        "child.service",
        "[Service]\nType=notify\nTimeoutStartSec=5\n"
        f"ExecStart=/bin/sh -c '{sender} stay & exec sleep 600'\n",
    )
    assert m.systemctl("start", "child").returncode == 1
    assert m.prop("child.service", "Result") == "timeout"
    assert "reception only permitted for main PID" in m.journal("child.service")
    # ... but from the main process it is
    m.unit(
        "main.service",
        "[Service]\nType=notify\nTimeoutStartSec=5\nExecStart=/usr/local/bin/notify-ready stay\n",
    )
    assert m.systemctl("start", "main").returncode == 0
    assert m.prop("main.service", "ActiveState") == "active"


def test_permissions_start_only(open_root: Path) -> None:
    m = Machine(open_root / "root")
    m.root.mkdir()
    m.root.chmod(0o755)
    m.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nsvc:x:4242:4243::/home/svc:/bin/sh\n")
    m.write("/etc/group", "root:x:0:\nsvc:x:4243:\n")
    out = m.path("/srv/out")
    out.mkdir(parents=True)
    out.chmod(0o777)
    m.unit(
        "p.service",
        "[Service]\nUser=svc\nPermissionsStartOnly=true\n"
        f"ExecStartPre=/bin/sh -c 'id -u > {out}/pre'\n"
        f"ExecStartPre=+/bin/sh -c 'id -u > {out}/plus'\n"
        f"ExecStart=/bin/sh -c 'id -u > {out}/main; echo $HOME > {out}/home; exec sleep 600'\n",
    )
    m.boot()
    try:
        m.systemctl("start", "p", check=True)
        wait_until(lambda: (out / "home").exists(), what="main process ran")
        assert (out / "pre").read_text().strip() == "0"
        assert (out / "plus").read_text().strip() == "0"
        assert (out / "main").read_text().strip() == "4242"
        assert (out / "home").read_text().strip() == "/home/svc"
    finally:
        m.shutdown()
