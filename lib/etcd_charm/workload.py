"""The edge: the etcd snap, its service and the files the charm writes. No decisions here."""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from . import etcd_conf as C
from . import legacy
from .record import KV_SNAP_LISTING

if TYPE_CHECKING:
    from charmhelpers.core import unitdata

SNAP = "etcd"
SERVICE = "snap.etcd.etcd"


class WorkloadError(Exception):
    pass


def _run(argv: list[str], timeout: float = 600) -> str:
    env = dict(os.environ)
    env["PATH"] = "/snap/bin:" + env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise WorkloadError(f"{' '.join(argv)}: {e}") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise WorkloadError(
            f"{' '.join(argv)} failed: {detail[-1] if detail else proc.returncode}"
        )
    return proc.stdout


def parse_snap_list(text: str, name: str = SNAP) -> tuple[str, str, str] | None:
    """``snap list`` output -> (version, revision, tracking) of ``name``."""
    lines = text.splitlines()
    for line in lines[1:]:
        cols = line.split()
        if len(cols) >= 4 and cols[0] == name:
            return cols[1], cols[2], cols[3]
    return None


def parse_snap_notes(text: str, name: str = SNAP) -> frozenset[str]:
    """``snap list`` output -> the Notes of ``name`` (``held``, ``disabled``, ...; none:
    ``-``)."""
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 6 and cols[0] == name:
            return frozenset(n for n in cols[5].split(",") if n != "-")
    return frozenset()


def refreshes_held() -> bool:
    """Whether snapd's own refreshes of etcd are held (``snap list``'s note ``held``)."""
    return "held" in parse_snap_notes(_listing())


def hold_refreshes() -> str:
    """``snap refresh --hold etcd``: snapd never refreshes etcd on its own (only the charm
    does, one unit at a time). Returns snapd's message."""
    forget_listing()
    try:
        return _run(["snap", "refresh", "--hold", SNAP]).strip()
    finally:
        forget_listing()


def store_info() -> str:
    """``snap info etcd``: what the store offers (its ``channels:`` block)."""
    return _run(["snap", "info", SNAP], timeout=120)


def install_snap_file(path: str) -> None:
    """``snap install --dangerous`` of a snap file (a base snap an operator attached)."""
    _run(["snap", "install", "--dangerous", path])


#: snapd's state, rewritten (by rename) whenever anything about a snap changes.
SNAPD_STATE = "/var/lib/snapd/state.json"


def _snapd_stamp() -> str | None:
    """What identifies this version of snapd's state: its inode, mtime and size (None outside
    a hook or action: a scheduled backup's program does not open the unit's kv)."""
    if not os.environ.get("JUJU_CONTEXT_ID"):
        return None
    try:
        st = os.stat(SNAPD_STATE)
    except OSError:
        return None
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"


def kv() -> unitdata.Storage:
    from charmhelpers.core import unitdata

    return unitdata.kv()


@functools.lru_cache(maxsize=1)
def _listing() -> str:
    """``snap list etcd`` ("" when etcd is not installed), once until something changes.

    Kept from one hook to the next with the stamp of snapd's state file it was read under:
    no install, refresh, switch or revert leaves that file as it was, so while the stamp
    holds the listing does (a ``snap list`` costs a hook tens of milliseconds)."""
    stamp = _snapd_stamp()
    if stamp is not None:
        saved = kv().get(KV_SNAP_LISTING)
        if isinstance(saved, dict) and saved.get("stamp") == stamp:
            return str(saved.get("listing", ""))
    try:
        listing = _run(["snap", "list", SNAP], timeout=60)
    except WorkloadError:
        listing = ""
    if stamp is not None and _snapd_stamp() == stamp:  # unchanged while it was read
        kv().set(KV_SNAP_LISTING, {"stamp": stamp, "listing": listing})
    return listing


def forget_listing() -> None:
    """After a snap command: the next question reads ``snap list`` again."""
    _listing.cache_clear()
    if _snapd_stamp() is not None:
        kv().unset(KV_SNAP_LISTING)


def installed() -> tuple[str, str, str] | None:
    """(version, revision, tracked channel) of the installed etcd snap, None when absent."""
    return parse_snap_list(_listing())


def installed_version() -> str | None:
    """The installed etcd snap's version (``snap list``), None when it is not installed."""
    found = installed()
    return found[0] if found else None


def installed_revision() -> str:
    """The installed etcd snap's revision ("516"; "x1" from a file; "" when absent)."""
    found = installed()
    return found[1] if found else ""


def tracking() -> str:
    """The channel the installed snap tracks ("" when not installed or a local file)."""
    found = installed()
    return found[2] if found and found[2] != "-" else ""


def refresh_snap(channel: str, revision: str = "") -> None:
    """``snap refresh`` to ``channel`` (snapd copies the data and restarts the service), to
    its ``revision`` when given. A snap installed from a file (no channel tracked) needs
    ``--amend`` to go to the store."""
    local = installed() is not None and tracking() == ""
    forget_listing()
    argv = ["snap", "refresh", SNAP, f"--channel={channel}"]
    argv += [f"--revision={revision}"] if revision else []
    try:
        _run(argv + (["--amend"] if local else []))
    finally:
        forget_listing()


def install_snap(channel: str, resource_path: str | None) -> None:
    """Install etcd from an attached snap file when given, else from ``channel``."""
    forget_listing()
    if resource_path:
        _run(["snap", "install", "--dangerous", resource_path])
    else:
        _run(["snap", "install", SNAP, f"--channel={channel}"])


def remove_snap() -> None:
    """``snap remove --purge``: no snapshot of the snap's data is kept (snapd deletes
    $SNAP_DATA and $SNAP_COMMON)."""
    forget_listing()
    try:
        _run(["snap", "remove", "--purge", SNAP])
    finally:
        forget_listing()


def set_refresh_timer(timer: str) -> None:
    _run(["snap", "set", "system", f"refresh.timer={timer}"])


DROPIN_PATH = f"/etc/systemd/system/{SERVICE}.service.d/10-etcd-charm.conf"
DROPIN = """# Written by the etcd charm: a crashed or killed etcd is started again, without limit.
[Unit]
StartLimitIntervalSec=0

[Service]
Restart=always
RestartSec=2
"""


def running_data_dir() -> str:
    """The data directory etcd runs with (its written configuration), else the default."""
    return C.data_dir_of(read_file(C.CONF_PATH))


def connect_plug(plug: str) -> None:
    """``snap connect etcd:<plug>`` to the system's slot (idempotent)."""
    _run(["snap", "connect", f"{SNAP}:{plug}"])


def ensure_restart_policy() -> bool:
    """The Restart=always drop-in for the snap's service; True when it was (re)written."""
    if not write_file(DROPIN_PATH, DROPIN, 0o644):
        return False
    _run(["systemctl", "daemon-reload"])
    return True


def ensure_mode(path: str, mode: int) -> bool:
    """Give ``path`` ``mode``; False when it had it."""
    if os.stat(path).st_mode & 0o777 == mode:
        return False
    os.chmod(path, mode)
    return True


def systemctl(*args: str) -> None:
    _run(["systemctl", *args])


def install_timer(unit_dir: str, units: dict[str, str], timer: str) -> bool:
    """Write a timer's systemd units into ``unit_dir``; when any changed, reload systemd and
    (re)start ``timer``. True when it was (re)started; WorkloadError when systemctl failed."""
    changed = [
        name
        for name, text in units.items()
        if write_file(os.path.join(unit_dir, name), text, 0o644)
    ]
    if not changed:
        return False
    systemctl("daemon-reload")
    systemctl("enable", timer)
    systemctl("restart", timer)
    return True


def remove_file(path: str) -> bool:
    """Remove ``path``; False when it was not there."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def service_active() -> bool:
    proc = subprocess.run(
        ["systemctl", "is-active", "--quiet", SERVICE], capture_output=True, check=False
    )
    return proc.returncode == 0


def restart_service() -> None:
    _run(["systemctl", "enable", SERVICE])
    _run(["systemctl", "restart", SERVICE])


def start_service() -> None:
    _run(["systemctl", "enable", SERVICE])
    _run(["systemctl", "start", SERVICE])


def stop_service(disable: bool = False) -> None:
    if disable:
        _run(["systemctl", "disable", SERVICE])
    _run(["systemctl", "stop", SERVICE])


def write_file(path: str, content: str, mode: int) -> bool:
    """Atomically write ``content`` with ``mode``; False when the file already had it."""
    try:
        with open(path) as f:
            if f.read() == content and (os.stat(path).st_mode & 0o777) == mode:
                return False
    except OSError:
        pass
    with atomic_file(path, mode) as f:
        f.write(content.encode())
    return True


@contextlib.contextmanager
def atomic_file(path: str, mode: int) -> Iterator[BinaryIO]:
    """A file written beside ``path`` with ``mode`` from its creation on and renamed into
    place when the block ends: never a partial file under the final name."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_file(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


# --- what the deb-era charm installed (the snap-upgrade action migrates it) ----------------


def package_version() -> str:
    """The version of the installed etcd server package ("" when none is installed)."""
    for package in legacy.SERVER_PACKAGES:
        proc = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Status}\t${Version}", package],
            capture_output=True,
            text=True,
            check=False,
        )
        status, _, version = proc.stdout.partition("\t")
        if proc.returncode == 0 and status.endswith(" installed") and version:
            return version.strip()
    return ""


def legacy_install() -> legacy.LegacyInstall | None:
    """The package install of etcd on this unit, None when the package is not installed."""
    version = package_version()
    if not version:
        return None
    env = legacy.parse_defaults(read_file(legacy.DEFAULTS))
    return legacy.LegacyInstall.from_defaults(env, socket.gethostname(), version)


def legacy_service_active() -> bool:
    proc = subprocess.run(
        ["systemctl", "is-active", "--quiet", legacy.SERVICE], capture_output=True, check=False
    )
    return proc.returncode == 0


def stop_legacy_service() -> None:
    """Stop etcd.service and keep it from starting at boot (the snap's service runs now)."""
    _run(["systemctl", "disable", legacy.SERVICE])
    _run(["systemctl", "stop", legacy.SERVICE])


def start_legacy_service() -> None:
    _run(["systemctl", "enable", legacy.SERVICE])
    _run(["systemctl", "start", legacy.SERVICE])


def installed_packages() -> list[str]:
    """Which of the etcd packages dpkg knows (installed, or removed with config left)."""
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}\t${Status}\n", *legacy.PACKAGES],
        capture_output=True,
        text=True,
        check=False,
    )  # exit 1 when some are unknown: the known ones are printed all the same
    found = []
    for line in proc.stdout.splitlines():
        name, _, status = line.partition("\t")
        if name in legacy.PACKAGES and not status.endswith("not-installed"):
            found.append(name)
    return found


def purge_packages() -> list[str]:
    """``apt-get purge`` of the etcd packages (their configuration, user and /var/lib/etcd);
    the packages purged."""
    packages = installed_packages()
    if not packages:
        return []
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        proc = subprocess.run(
            ["apt-get", "purge", "-y", *packages],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise WorkloadError(f"apt-get purge: {e}") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise WorkloadError(f"apt-get purge failed: {detail[-1] if detail else proc.returncode}")
    return packages
