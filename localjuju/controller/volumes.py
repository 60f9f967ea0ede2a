"""Block volumes of the local model: sparse files in the model's directory, attached to a
machine as loop devices.

This is how Juju's own ``loop`` storage provider makes block devices (``losetup`` over a file
under the machine's storage directory), and what a cloud volume is to the machine: a block
device that a charm formats, mounts and finds again after a restart. A volume's file lives in
``<model>/volumes/``, outside every machine, so it outlives the unit and the machine it was
attached to and can be attached to another machine of the model.

Loop devices are the host's: every machine sees every ``/dev/loopN`` (its ``/dev`` is the
host's), which is a difference from a real machine, listed in docs/localjuju-fidelity.md.
"""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
from pathlib import Path

LOOP_MAJOR = 7
LOOP_CTL_GET_FREE = 0x4C82


class VolumeError(Exception):
    pass


def _run(*argv: str) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise VolumeError(f"{' '.join(argv)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def create(path: Path, size_mib: int) -> None:
    """A new, empty (all zeroes, sparse) volume of ``size_mib`` MiB; an existing one is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return
    with open(path, "xb") as f:
        f.truncate(size_mib << 20)


def device_of(path: Path) -> str:
    """The loop device the volume's file is attached to, or ""."""
    if not path.exists():
        return ""
    out = _run("losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE")
    for line in out.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and os.path.realpath(parts[1].strip()) == os.path.realpath(path):
            return parts[0]
    return ""


def _free_loop() -> int:
    fd = os.open("/dev/loop-control", os.O_RDWR)
    try:
        return fcntl.ioctl(fd, LOOP_CTL_GET_FREE)
    finally:
        os.close(fd)


def _ensure_node(n: int) -> str:
    """``/dev/loopN``, made when no udev made it (as in a container)."""
    dev = f"/dev/loop{n}"
    try:
        st = os.stat(dev)
        if stat.S_ISBLK(st.st_mode):
            return dev
        raise VolumeError(f"{dev} exists and is not a block device")
    except FileNotFoundError:
        os.mknod(dev, 0o660 | stat.S_IFBLK, os.makedev(LOOP_MAJOR, n))
        return dev


def attach(path: Path) -> str:
    """Attach the volume as a loop device (idempotent): its device path."""
    dev = device_of(path)
    if dev:
        return dev
    last = ""
    for _ in range(16):  # another process may take the free device first
        dev = _ensure_node(_free_loop())
        proc = subprocess.run(["losetup", dev, str(path)], capture_output=True, text=True)
        if proc.returncode == 0:
            return dev
        last = proc.stderr.strip()
    raise VolumeError(f"cannot attach {path.name} as a loop device: {last}")


def mounted_anywhere(dev: str) -> list[str]:
    """Where ``dev`` is mounted in any mount namespace of the host (a machine's, a snap's
    kept namespace in it): the mount points, once per namespace."""
    if not dev:
        return []
    try:
        rdev = os.stat(dev).st_rdev
    except OSError:
        return []
    want = f"{os.major(rdev)}:{os.minor(rdev)}"
    seen: set[str] = set()
    found: list[str] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            ns = os.readlink(f"/proc/{entry.name}/ns/mnt")
            if ns in seen:
                continue
            seen.add(ns)
            lines = Path(f"/proc/{entry.name}/mountinfo").read_text().splitlines()
        except OSError:
            continue
        found += [ln.split()[4] for ln in lines if ln.split()[2:3] == [want]]
    return found


def detach(path: Path) -> None:
    """Detach the volume's loop device (idempotent)."""
    dev = device_of(path)
    if dev:
        _run("losetup", "--detach", dev)


def destroy(path: Path) -> None:
    """Detach and delete the volume."""
    detach(path)
    path.unlink(missing_ok=True)
