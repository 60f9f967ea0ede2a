"""Machines of the local model: Linux namespaces with their own root, hostname and address.

A machine is:

- a named network namespace ``lj<model-index>-m<id>`` holding ``eth0`` (one end of a veth pair
  whose other end is enslaved to the model's bridge on the host) with the machine's address;
- a mount, UTS, PID and IPC namespace created by ``unshare`` inside that network namespace,
  whose root is a tmpfs assembled by :data:`BOOT_SCRIPT` (overlays of the host's ``/usr`` and
  ``/etc``, private persistent ``/root``, ``/home``, ``/var``, ``/snap`` ... from the machine's
  disk directory) and then pivoted into;
- PID 1 ``python -m localjuju.machine.init`` (supervisor of the machine's services).

Killing PID 1 kills every process of the machine (as a crashed VM); its disk stays.
See docs/localjuju-machines.md for the view from inside.

Root is needed for the bridge, the veth pairs and the mounts; everything else runs as root inside
the machine, as on a real Juju machine.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .. import bases, paths
from ..machine import COMMANDS as MACHINE_COMMANDS
from ..machine import command_script
from ..machine import snapd as machine_snapd

JUJU_VERSION = "3.6.8"
# Private, persistent top-level directories of a machine (bind-mounted from its disk).
PRIVATE_DIRS = ("root", "home", "tmp", "var", "snap", "srv", "opt", "media", "mnt")
# Overlays on the host's directories: writes are private to the machine.
OVERLAYS = ("usr", "etc")

BOOT_SCRIPT = r"""
set -eu
M="$1"; R="$M/rootfs"; HOSTNAME="$2"; LJROOT="$3"; STORE="$4"; PY="$5"; APTREPO="$6"
PYVER="$7"; PYBIN="$8"; PYSTDLIB="$9"; PYLIB="${10}"; OVERLAY="${11}"
mount --make-rprivate /
mount -t tmpfs -o mode=755 rootfs "$R"
for d in usr etc proc sys dev run mnt media root home tmp var snap srv opt; do mkdir -p "$R/$d"; done
for l in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$l" ]; then ln -s "$(readlink "/$l")" "$R/$l"; elif [ -d "/$l" ]; then
    mkdir -p "$R/$l"; mount --bind "/$l" "$R/$l"; mount -o remount,bind,ro "$R/$l"; fi
done
for d in usr etc; do
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$M/upper/$d,workdir=$M/work/$d" "$R/$d"
done
for d in root home tmp var snap srv opt media mnt; do mount --bind "$M/disk/$d" "$R/$d"; done
# /media is shared, as on Ubuntu (systemd makes every mount shared): snap-confine's
# namespaces are its slaves, so what is mounted or unmounted there reaches the snaps
mount --make-shared "$R/media"
# The base's Python as /usr/bin/python3.X (its link /usr/bin/python3 is in the /usr overlay):
# the host's build of that CPython, read-only, with an empty site-packages.
if [ -n "$PYVER" ]; then
  mount --bind "$PYBIN" "$R/usr/bin/python$PYVER"
  mount -o remount,bind,ro "$R/usr/bin/python$PYVER"
  mount --bind "$PYSTDLIB" "$R/usr/lib/python$PYVER"
  mount -o remount,bind,ro "$R/usr/lib/python$PYVER"
  if [ -d "$R/usr/lib/python$PYVER/site-packages" ]; then
    mount --bind "$M/empty" "$R/usr/lib/python$PYVER/site-packages"
    mount -o remount,bind,ro "$R/usr/lib/python$PYVER/site-packages"
  fi
  if [ -n "$PYLIB" ]; then
    mount --bind "$PYLIB" "$R/usr/lib/x86_64-linux-gnu/libpython$PYVER.so.1.0"
    mount -o remount,bind,ro "$R/usr/lib/x86_64-linux-gnu/libpython$PYVER.so.1.0"
  fi
fi
chmod 1777 "$R/tmp"
mount --rbind /dev "$R/dev"
mount --rbind /sys "$R/sys"
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=755 run "$R/run"
mkdir -p "$R/run/localjuju" "$R/run/lock"
mkdir -p "$R$LJROOT"
mount --bind "$LJROOT" "$R$LJROOT"
mount -o remount,bind,ro "$R$LJROOT"
mkdir -p "$R/var/lib/localjuju/store"
if [ -d "$STORE" ]; then
  mount --bind "$STORE" "$R/var/lib/localjuju/store"
  mount -o remount,bind,ro "$R/var/lib/localjuju/store"
fi
# the model's channel map overlay of the store (written by the controller only)
mkdir -p "$R/var/lib/localjuju/store-overlay"
if [ -d "$OVERLAY" ]; then
  mount --bind "$OVERLAY" "$R/var/lib/localjuju/store-overlay"
  mount -o remount,bind,ro "$R/var/lib/localjuju/store-overlay"
fi
mkdir -p "$R/var/lib/localjuju/apt"
if [ -d "$APTREPO" ]; then
  mount --bind "$APTREPO" "$R/var/lib/localjuju/apt"
  mount -o remount,bind,ro "$R/var/lib/localjuju/apt"
fi
cd "$R"
mkdir .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot
hostname "$HOSTNAME"
# What systemd's fstab generator does at boot: every local file system of /etc/fstab mounted
# (its mount point made), before any service starts; a failure is on the console.
if [ -f /etc/fstab ]; then
  awk '$1 !~ /^#/ && NF >= 3 && $2 ~ /^\// && $2 != "/" && $3 != "swap" &&
       $4 !~ /(^|,)noauto(,|$)/ {print $2}' /etc/fstab | while read -r mp; do
    if mountpoint -q "$mp"; then continue; fi
    mkdir -p "$mp"
    mount "$mp" || echo "localjuju: /etc/fstab: mounting $mp failed" >&2
  done
fi
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin
export HOME=/root LANG=C.UTF-8
if "$PY" -c 'import localjuju.machine.init' 2>/dev/null; then
  exec "$PY" -m localjuju.machine.init
fi
# Fallback while the supervisor is unavailable: a PID 1 that only reaps.
exec "$PY" -c 'import os, signal, sys
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    try:
        os.wait()
    except ChildProcessError:
        signal.pause()'
"""


class MachineError(Exception):
    pass


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise MachineError(f"{' '.join(argv)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


@dataclass
class Network:
    """The model's network: a bridge on the host with a /24 subnet."""

    index: int

    @property
    def bridge(self) -> str:
        return f"ljbr{self.index}"

    @property
    def subnet(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(f"10.211.{self.index}.0/24")

    @property
    def gateway(self) -> str:
        return str(self.subnet.network_address + 1)

    def address(self, machine_id: int) -> str:
        return str(self.subnet.network_address + 10 + machine_id)

    def netns(self, machine_id: int) -> str:
        return f"lj{self.index}-m{machine_id}"

    def host_veth(self, machine_id: int) -> str:
        return f"lj{self.index}h{machine_id}"

    def ensure(self) -> None:
        # Traffic to the whole model range never leaves this host: anything not routed to one
        # of our bridges is unreachable rather than sent to the default gateway.
        if "10.211.0.0/16" not in _run("ip", "route", "show", "type", "unreachable").stdout:
            _run("ip", "route", "add", "unreachable", "10.211.0.0/16", check=False)
        if _run("ip", "link", "show", self.bridge, check=False).returncode != 0:
            _run("ip", "link", "add", self.bridge, "type", "bridge", check=False)
        addrs = _run("ip", "-br", "addr", "show", self.bridge).stdout
        if f"{self.gateway}/24" not in addrs:
            _run("ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge, check=False)
        _run("ip", "link", "set", self.bridge, "up")

    def destroy(self) -> None:
        _run("ip", "link", "del", self.bridge, check=False)


def free_network_index(used: set[int]) -> int:
    for i in range(1, 250):
        if i in used:
            continue
        if _run("ip", "link", "show", f"ljbr{i}", check=False).returncode == 0:
            continue
        return i
    raise MachineError("no free model network (all 10.211.1-249.0/24 in use)")


class Machine:
    """The host side of one machine."""

    def __init__(
        self,
        model_dir: Path,
        model_name: str,
        model_uuid: str,
        net: Network,
        mid: int,
        base: str = "ubuntu@22.04",
    ):
        self.dir = model_dir / "machines" / str(mid)
        self.model_name = model_name
        self.model_uuid = model_uuid
        self.net = net
        self.id = mid
        self.release = bases.release(base)
        self.interpreter = bases.interpreter(self.release.python)

    @property
    def python_warning(self) -> str:
        """Why the machine's python3 is not its base's, or "" when it is."""
        if self.interpreter is not None:
            return ""
        return (
            f"machine {self.id} runs the host's Python {bases.host_python_version()}, "
            f"not {self.release.base}'s {self.release.python}"
        )

    @property
    def store_overlay_dir(self) -> Path:
        """The model's store overlay (``<model>/store``), bound into the machine."""
        return self.dir.parent.parent / "store"

    @property
    def hostname(self) -> str:
        return f"juju-{self.model_uuid[-6:]}-{self.id}"

    @property
    def address(self) -> str:
        return self.net.address(self.id)

    @property
    def netns(self) -> str:
        return self.net.netns(self.id)

    def host_path(self, path: str) -> Path:
        """The host path of a path inside the machine, for the private directories only."""
        rel = path.lstrip("/")
        top = rel.split("/", 1)[0]
        if top not in PRIVATE_DIRS:
            raise MachineError(f"{path} is not on the machine's private disk")
        return self.dir / "disk" / rel

    # ----------------------------------------------------------------- provisioning

    def provision(self) -> None:
        """Create the machine's disk (idempotent)."""
        for d in OVERLAYS:
            (self.dir / "upper" / d).mkdir(parents=True, exist_ok=True)
            (self.dir / "work" / d).mkdir(parents=True, exist_ok=True)
        for d in PRIVATE_DIRS:
            (self.dir / "disk" / d).mkdir(parents=True, exist_ok=True)
        (self.dir / "rootfs").mkdir(exist_ok=True)
        self.store_overlay_dir.mkdir(exist_ok=True)
        self._var_skeleton()
        self._write_identity()
        self._install_python()

    def _var_skeleton(self) -> None:
        """What Ubuntu's base-files puts in ``/var`` (and ``/tmp``'s mode): programs write
        through ``/var/run`` and ``/var/lock`` (links into ``/run``, a tmpfs at every boot; for
        one, Debian's nrpe.cfg templates name ``/var/run/nagios/nrpe.pid``). Existing entries
        are left as they are."""
        disk = self.dir / "disk"
        for name, target in (("run", "/run"), ("lock", "/run/lock")):
            link = disk / "var" / name
            if not link.is_symlink() and not link.exists():
                link.symlink_to(target)
        for name, mode in (("tmp", 0o1777), ("cache", 0o755), ("lib", 0o755), ("log", 0o755),
                           ("spool", 0o755), ("mail", 0o2775), ("opt", 0o755),
                           ("local", 0o2775), ("backups", 0o755)):  # fmt: skip
            d = disk / "var" / name
            if not d.exists():
                d.mkdir(parents=True)
                d.chmod(mode)
        (disk / "tmp").chmod(0o1777)

    def _install_python(self) -> None:
        """The mount points and links of the base's Python in the /usr overlay (the binds are
        made at boot), and the host's Python for the model's own charms."""
        usr = self.dir / "upper" / "usr"
        (usr / "bin").mkdir(parents=True, exist_ok=True)
        python3 = usr / "bin" / "python3"
        interp = self.interpreter
        if interp is not None:
            v = interp.version
            placeholders = [usr / "bin" / f"python{v}"]
            if interp.libpython is not None:
                placeholders.append(usr / "lib" / "x86_64-linux-gnu" / f"libpython{v}.so.1.0")
            for f in placeholders:
                f.parent.mkdir(parents=True, exist_ok=True)
                if not f.exists():
                    f.touch(mode=0o755)
            (usr / "lib" / f"python{v}").mkdir(parents=True, exist_ok=True)
            (self.dir / "empty").mkdir(exist_ok=True)
            if not python3.is_symlink() or os.readlink(python3) != f"python{v}":
                python3.unlink(missing_ok=True)
                python3.symlink_to(f"python{v}")
        else:  # the host's python3 shows through, and status says so
            if python3.is_symlink():
                python3.unlink()
            v = self.release.python  # no empty mount point left where the binary would be
            for f in (
                usr / "bin" / f"python{v}",
                usr / "lib" / "x86_64-linux-gnu" / f"libpython{v}.so.1.0",
            ):
                if f.is_file() and f.stat().st_size == 0:
                    f.unlink()
        # The local model's built-in charms (easyrsa, etcd-client) need the host's yaml and
        # cryptography: their dispatch runs this, not the machine's python3.
        libexec = usr / "libexec" / "localjuju"
        libexec.mkdir(parents=True, exist_ok=True)
        host_python = os.path.realpath("/usr/bin/python3")
        link = libexec / "python3"
        if not link.is_symlink() or os.readlink(link) != host_python:
            link.unlink(missing_ok=True)
            link.symlink_to(host_python)

    def _write_identity(self) -> None:
        etc = self.dir / "upper" / "etc"
        (etc / "os-release").unlink(missing_ok=True)
        (etc / "os-release").write_text(self.release.os_release())
        (etc / "lsb-release").write_text(self.release.lsb_release())
        (etc / "hostname").write_text(self.hostname + "\n")
        if not (etc / "fstab").exists():  # an Ubuntu cloud image's; the machine's own after
            (etc / "fstab").write_text("LABEL=cloudimg-rootfs\t/\t ext4\tdefaults\t0 1\n")
        (etc / "hosts").write_text(
            f"127.0.0.1 localhost\n{self.address} {self.hostname}\n"
            "::1 localhost ip6-localhost ip6-loopback\n"
        )
        # As on an Ubuntu cloud image, user and group 1000 are "ubuntu". Accounts that the
        # machine's own packages added (adduser --system in a maintainer script: etcd,
        # nagios) are the machine's and stay across a restart, as on a real disk.
        for name, ubuntu in (
            ("passwd", "ubuntu:x:1000:1000:Ubuntu:/home/ubuntu:/bin/bash"),
            ("group", "ubuntu:x:1000:"),
        ):
            host = [
                line
                for line in Path(f"/etc/{name}").read_text().splitlines()
                if line.split(":")[2:3] != ["1000"] and not line.startswith("ubuntu:")
            ]
            known = {line.split(":")[0] for line in host} | {"ubuntu"}
            mine = etc / name
            added = (
                [
                    line
                    for line in mine.read_text().splitlines()
                    if line.strip() and line.split(":")[0] not in known
                ]
                if mine.exists()
                else []
            )
            mine.write_text("\n".join([*host, ubuntu, *added]) + "\n")
        home = self.dir / "disk" / "home" / "ubuntu"
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, 1000, 1000)
        root_home = self.dir / "disk" / "root"
        for f in (".bashrc", ".profile"):
            src = Path("/etc/skel") / f
            if src.exists() and not (root_home / f).exists():
                shutil.copy(src, root_home / f)
        # The machine agent binary that charmhelpers runs (`jujud version`).
        tools = self.dir / "disk" / "var" / "lib" / "juju" / "tools" / f"machine-{self.id}"
        tools.mkdir(parents=True, exist_ok=True)
        jujud = tools / "jujud"
        jujud.write_text(
            "#!/bin/sh\n"
            f'if [ "$1" = version ]; then echo {JUJU_VERSION}-ubuntu-amd64; exit 0; fi\n'
            'echo "jujud: only the version command is available on the local model" >&2\n'
            "exit 2\n"
        )
        jujud.chmod(0o755)
        # The local model's snap, systemctl, journalctl, apt-get, dpkg and dpkg-query.
        usr_bin = self.dir / "upper" / "usr" / "bin"
        usr_bin.mkdir(parents=True, exist_ok=True)
        for cmd in MACHINE_COMMANDS:
            w = usr_bin / cmd
            w.write_text(command_script(cmd, str(paths.venv_python())))
            w.chmod(0o755)
        # snapd.service (enabled), whose daemon runs the automatic refreshes
        for mpath_, (text, mode) in machine_snapd.files(str(paths.venv_python())).items():
            target = self.dir / "upper" / mpath_.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            target.chmod(mode)
        wants = self.dir / "upper" / machine_snapd.WANTS.lstrip("/")
        wants.parent.mkdir(parents=True, exist_ok=True)
        if not wants.is_symlink():
            wants.symlink_to(machine_snapd.UNIT)

    def _setup_network(self) -> None:
        ns, hv = self.netns, self.net.host_veth(self.id)
        if _run("ip", "netns", "pids", ns, check=False).returncode != 0:
            _run("ip", "netns", "add", ns)
        if _run("ip", "link", "show", hv, check=False).returncode != 0:
            _run("ip", "link", "add", hv, "type", "veth", "peer", "name", f"{hv}p")
            _run("ip", "link", "set", f"{hv}p", "address", self.mac)
            _run("ip", "link", "set", f"{hv}p", "netns", ns)
            _run("ip", "-n", ns, "link", "set", f"{hv}p", "name", "eth0")
            _run("ip", "-n", ns, "addr", "add", f"{self.address}/24", "dev", "eth0")
        _run("ip", "link", "set", hv, "master", self.net.bridge)
        _run("ip", "link", "set", hv, "up")
        _run("ip", "-n", ns, "link", "set", "lo", "up")
        _run("ip", "-n", ns, "link", "set", "eth0", "up")

    @property
    def mac(self) -> str:
        """The MAC address the machine's eth0 is given (LXD's 00:16:3e prefix)."""
        return f"00:16:3e:d3:{self.net.index:02x}:{self.id:02x}"

    def mac_address(self) -> str:
        """eth0's MAC address, or "" when the machine has no network: the veth pair exists
        (its host end, seen without entering the namespace) with the address it was made
        with. network-get and status ask often: no ``ip`` process each time."""
        if not os.path.exists(f"/sys/class/net/{self.net.host_veth(self.id)}"):
            return ""
        return self.mac

    # ----------------------------------------------------------------- life cycle

    def boot(self) -> int:
        """Start the machine; returns the host PID of its PID 1."""
        self.provision()
        self.net.ensure()
        self._setup_network()
        log = open(self.dir / "console.log", "ab")
        proc = subprocess.Popen(
            [
                "ip", "netns", "exec", self.netns,
                "unshare", "--mount", "--uts", "--pid", "--ipc", "--fork", "--kill-child",
                "sh", "-c", BOOT_SCRIPT, "boot",
                str(self.dir), self.hostname, str(paths.ROOT), str(paths.store_dir()),
                str(paths.venv_python()), str(paths.apt_repo_dir()), *self._python_args(),
                str(self.store_overlay_dir),
            ],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pid = _init_pid(proc.pid)
            if pid and _in_machine_root(pid):
                (self.dir / "init.pid").write_text(f"{pid} {_start_time(pid)}")
                return pid
            if proc.poll() is not None:
                break
            time.sleep(0.01)
        proc.kill()
        raise MachineError(f"machine {self.id} failed to boot; see {self.dir / 'console.log'}")

    def _python_args(self) -> list[str]:
        interp = self.interpreter
        if interp is None:
            return ["", "", "", ""]
        lib = str(interp.libpython) if interp.libpython else ""
        return [interp.version, str(interp.binary), str(interp.stdlib), lib]

    def init_pid(self) -> int | None:
        """The host PID of the machine's PID 1 while it runs. The process is the one booted
        (its start time is recorded with it): a host spawning processes by the thousand
        reuses a dead machine's PID within minutes (pid_max 32768), and a stale PID would
        run hooks in some other process's namespaces."""
        try:
            pid_text, _, start = (self.dir / "init.pid").read_text().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        if not _alive(pid) or (start.strip() and _start_time(pid) != start.strip()):
            return None
        return pid

    def running(self) -> bool:
        return self.init_pid() is not None

    def kill(self) -> None:
        """Every process of the machine gone at once, as a crashed VM."""
        pid = self.init_pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10)

    def shutdown(self, timeout: float = 30) -> None:
        """A clean stop: the supervisor stops its services, then the machine ends."""
        pid = self.init_pid()
        if not pid:
            return
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, timeout):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10)

    def destroy(self) -> None:
        self.kill()
        _run("ip", "link", "del", self.net.host_veth(self.id), check=False)
        _run("ip", "netns", "del", self.netns, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def set_network(self, up: bool) -> None:
        _run("ip", "link", "set", self.net.host_veth(self.id), "up" if up else "down")

    def network_up(self) -> bool:
        out = _run("ip", "-br", "link", "show", self.net.host_veth(self.id), check=False).stdout
        return "DOWN" not in out.split()[1:2] and out != ""

    def nsenter_argv(self) -> list[str]:
        pid = self.init_pid()
        if not pid:
            raise MachineError(f"machine {self.id} is not running")
        return ["nsenter", "-t", str(pid), "-m", "-u", "-n", "-p", "-i", "--"]


def _init_pid(unshare: int) -> int | None:
    """The PID of the namespace's PID 1: the child of unshare (``ip netns exec`` execs it)."""
    for pid in _children(unshare):
        return pid
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def _in_machine_root(pid: int) -> bool:
    """True once PID 1 has pivoted into the machine's root and exec'd the init."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    return os.path.basename(exe).startswith("python")


def _start_time(pid: int) -> str:
    """When the process started (clock ticks since boot, /proc/<pid>/stat field 22), "" when
    it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if len(fields) > 19 else ""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.02)
    return not _alive(pid)
