"""The ``data`` volume, the shell: the storage hooks, and moving etcd's data onto the volume
and back (decisions in :mod:`volume`).

- ``data-storage-attached`` (:func:`attached`): a blank device is formatted (ext4, labelled
  ``juju-etcd``) and marked; a device of this charm is mounted as it is; anything else is
  refused, left untouched, and the unit blocks saying what it found. The volume is mounted at
  ``/media/etcd`` and put in ``/etc/fstab`` by UUID.
- Every hook (:func:`reconcile`): once the snap is installed its ``removable-media`` plug is
  connected and the volume becomes ``ready``. etcd's configuration then names
  ``/media/etcd/data``, and the change reaches the member through the usual restart grant
  (one unit at a time, raft leadership handed over first, quorum kept):
  :func:`move` runs while etcd is stopped. A member that starts after the volume is ready
  starts on it.
- ``data-storage-detaching`` (:func:`detaching`): a unit that stays moves its data back first
  (the same way, in the hook: Juju detaches the device once it commits); a unit being removed
  leaves the cluster first. Then the volume is unmounted and dropped from ``/etc/fstab``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import replace
from typing import Any

from charmhelpers.core import hookenv

from . import hooktools, workload
from . import volume as V
from .context import Hook, log

STALE_PREFIX = "stale-member-"


class VolumeError(Exception):
    pass


def _run(argv: list[str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise VolumeError(f"{' '.join(argv)}: {(proc.stderr or proc.stdout).strip()}")
    return proc.stdout


def probe(device: str) -> V.Probe:
    """``blkid -p``: what is on the device (exit 2 = nothing found)."""
    proc = subprocess.run(["blkid", "-p", "-o", "export", device], capture_output=True, text=True)
    if proc.returncode not in (0, 2):
        raise VolumeError(f"cannot probe {device}: {proc.stderr.strip()}")
    return V.Probe.parse(device, proc.stdout)


def mounted_device() -> str:
    """The device mounted at the mount point, or ""."""
    proc = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE", "--mountpoint", V.MOUNT_POINT],
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip() if proc.returncode == 0 else ""


def mounted_is(device: str) -> bool:
    """Whether ``device`` is what is mounted at the mount point. Juju's storage-get location
    may be a link (``/dev/disk/by-id/...`` on a cloud) where findmnt names the device itself
    (``/dev/nvme1n1``): both are resolved."""
    mounted = mounted_device()
    return bool(mounted) and os.path.realpath(mounted) == os.path.realpath(device)


def read_marker() -> V.Marker | None:
    try:
        with open(V.MARKER, encoding="utf-8") as f:
            return V.Marker.from_json(json.load(f))
    except (OSError, ValueError):
        return None


def write_marker(marker: V.Marker) -> None:
    with workload.atomic_file(V.MARKER, 0o600) as f:
        f.write(json.dumps(marker.to_json(), sort_keys=True).encode())


def _fstab(uuid: str | None) -> None:
    try:
        with open("/etc/fstab", encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    new = V.fstab_with(text, uuid) if uuid else V.fstab_without(text)
    if new != text:
        workload.write_file("/etc/fstab", new, 0o644)


def _mount(device: str) -> None:
    os.makedirs(V.MOUNT_POINT, exist_ok=True)
    if not mounted_is(device):
        _run(["mount", "-t", "ext4", device, V.MOUNT_POINT])


def unmount() -> None:
    if mounted_device():
        _run(["umount", V.MOUNT_POINT])


def storage_id() -> str:
    return os.environ.get("JUJU_STORAGE_ID", "")


# --- the hooks ---------------------------------------------------------------------------


def attached(hook: Hook) -> None:
    """``data-storage-attached``: format (if blank), mount and mark the volume, or refuse it."""
    sid = storage_id()
    device = str(hookenv.storage_get("location", sid) or "")
    rec = hook.record.volume
    if rec.get("storage") == sid and rec.get("state") in ("mounted", "ready"):
        if mounted_device():
            return  # this hook again (a retry): done already
    found = probe(device)
    kind = V.classify(found)
    if kind == "foreign":
        return _refuse(hook, sid, device, V.describe(found))
    if kind == "blank":
        log(f"formatting {sid} ({device}) as ext4 for etcd's data")
        _run(["mkfs.ext4", "-q", "-L", V.LABEL, device])
        found = probe(device)
    _mount(device)
    marker = read_marker()
    if marker is None:
        if kind == "ours" and [e for e in os.listdir(V.MOUNT_POINT) if e != "lost+found"]:
            unmount()
            return _refuse(hook, sid, device, f"an ext4 file system labelled {V.LABEL} "
                           "without this charm's marker")  # fmt: skip
        marker = V.Marker(application=hook.unit.split("/")[0], unit=hook.unit, storage=sid)
        write_marker(marker)
    has_data = os.path.isdir(os.path.join(V.DATA_DIR, "member"))
    token = hooktools.leader_get("token") or ""
    verdict = V.reuse(has_data, marker, token)
    if verdict == "other-cluster":
        unmount()
        _refuse(hook, sid, device, V.found_cluster(marker))
        # what recover-from-volume needs to decide (and says) without mounting it
        hook.record.volume = {**hook.record.volume, "cluster": marker.cluster,
                              "unit": marker.unit, "ended": marker.ended,
                              "member": marker.member}  # fmt: skip
        return None
    if verdict == "stale":
        aside = os.path.join(V.MOUNT_POINT, f"{STALE_PREFIX}{int(time.time())}")
        log(f"{sid} holds an earlier member's data of this cluster: set aside in {aside}; this "
            "unit joins as a new member and syncs")  # fmt: skip
        os.rename(os.path.join(V.DATA_DIR, "member"), aside)
    _fstab(found.uuid)
    hook.record.volume = {"storage": sid, "device": device, "uuid": found.uuid,
                          "state": "mounted"}  # fmt: skip
    log(f"{sid} ({device}) mounted at {V.MOUNT_POINT}")


def _refuse(hook: Hook, sid: str, device: str, what: str) -> None:
    hook.record.volume = {"storage": sid, "device": device, "state": "refused", "found": what}
    log(f"refusing {sid} ({device}): it holds {what}; nothing was changed", hookenv.WARNING)


def problem(hook: Hook) -> str:
    """A refused volume, as the unit's blocked status says it."""
    rec = hook.record.volume
    if rec.get("state") != "refused":
        return ""
    sid = rec.get("storage", "")
    remedy = f"detach it (juju detach-storage {sid})"
    if rec.get("cluster"):
        remedy = f"recover-from-volume brings that cluster back here, or {remedy}"
    return (f"Storage {sid} ({rec.get('device', '')}) holds {rec.get('found', '')}: not used, "
            f"nothing changed; {remedy}")  # fmt: skip


def reconcile(hook: Hook) -> None:
    """Every hook: connect the snap to the mounted volume (it is ready then); once the member
    runs on it, the marker names its cluster and earlier members' data set aside is deleted."""
    rec = hook.record.volume
    if not rec and workload.running_data_dir() == V.DATA_DIR:
        rec = adopt(hook)
    state = rec.get("state")
    if state == "mounted" and workload.installed() is not None:
        if not mounted_is(str(rec.get("device", ""))):
            raise VolumeError(f"{rec.get('storage')} is not mounted at {V.MOUNT_POINT}")
        workload.connect_plug("removable-media")
        hook.record.volume = {**rec, "state": "ready"}
        log(f"etcd reaches {rec.get('storage')}: its data moves there")
    if state == "ready" and hook.record.started and workload.running_data_dir() == V.DATA_DIR:
        claim(hook)
        for entry in os.listdir(V.MOUNT_POINT):
            if entry.startswith(STALE_PREFIX):
                shutil.rmtree(os.path.join(V.MOUNT_POINT, entry), ignore_errors=True)


def claim(hook: Hook) -> None:
    """The marker names the cluster and the member that run on the volume (etcd runs from
    it). The hook that moves the data there writes it after the move (its reconcile looked
    before), and so does the volume's detaching hook, in case no hook ran in between: a
    marker without its cluster would make the volume another cluster's, "never started"."""
    if not hook.record.started or workload.running_data_dir() != V.DATA_DIR:
        return  # etcd does not run from the volume
    marker = read_marker()
    token = hook.record.bootstrap_token
    member = f"{hook.record.member_id:x}" if hook.record.member_id else ""
    if marker is not None and token and (marker.cluster, marker.member) != (token, member):
        write_marker(V.Marker(marker.application, hook.unit, marker.storage, token, member))


def adopt(hook: Hook) -> dict[str, Any]:
    """etcd runs on ``/media/etcd/data`` and this unit has no record of a volume: the volume
    of the layer-etcd charm, whose member this charm takes over. It is recorded as ready
    (that charm connected ``removable-media``), so the data stays where it is; it gets this
    charm's label and marker, and its ``/etc/fstab`` line (by device name) is replaced by one
    by UUID. Nothing is mounted there: nothing is recorded, and etcd's data directory stays."""
    device = mounted_device()
    if not device:
        log(f"etcd's data directory is {V.DATA_DIR}, but nothing is mounted at "
            f"{V.MOUNT_POINT}", hookenv.WARNING)  # fmt: skip
        return {}
    found = probe(device)
    if found.fs_type != "ext4" or found.label not in ("", V.LABEL):
        log(f"{device} at {V.MOUNT_POINT} holds {V.describe(found)}: left as it is",
            hookenv.WARNING)  # fmt: skip
        return {}
    if not found.label:
        _run(["e2label", device, V.LABEL])
    stores = hookenv.storage_list(V.STORE) or []
    sid = str(stores[0]) if stores else ""
    if read_marker() is None:
        write_marker(
            V.Marker(hook.unit.split("/")[0], hook.unit, sid, hook.record.bootstrap_token)
        )
    _fstab(found.uuid)
    rec = {"storage": sid, "device": device, "uuid": found.uuid, "state": "ready",
           "adopted": "layer-etcd"}  # fmt: skip
    hook.record.volume = rec
    log(f"{sid or 'the data volume'} ({device}), layer-etcd's, kept: etcd's data stays on it")
    return rec


def mark_ended(how: str) -> None:
    """The member's life on the volume ended (its unit goes): ``removed`` (it left the
    cluster) or ``last`` (the cluster's only member: its data is the cluster's)."""
    marker = read_marker()
    if marker is not None and mounted_device():
        write_marker(replace(marker, ended=how))


def mount_refused(hook: Hook) -> V.Marker:
    """``recover-from-volume``: mount the refused volume that holds another cluster's data,
    and have the snap reach it; the marker must still say what the refusal recorded."""
    rec = hook.record.volume
    device = str(rec.get("device", ""))
    found = probe(device)
    if V.classify(found) != "ours":
        raise VolumeError(f"{device} no longer holds this charm's file system "
                          f"({V.describe(found)})")  # fmt: skip
    _mount(device)
    marker = read_marker()
    if (
        marker is None
        or marker.cluster != rec.get("cluster")
        or not os.path.isdir(os.path.join(V.DATA_DIR, "member"))
    ):
        unmount()
        raise VolumeError(f"{device} changed since it was attached: its marker or its data "
                          "is not what was found then; detach it and attach it again")  # fmt: skip
    workload.connect_plug("removable-media")
    _fstab(found.uuid)
    return marker


def write_recovered(hook: Hook, marker: V.Marker, member_id: int) -> None:
    """The volume's member runs again, in this unit: the marker and the record say so."""
    write_marker(replace(marker, application=hook.unit.split("/")[0], unit=hook.unit,
                         storage=str(hook.record.volume.get("storage", "")),
                         member=f"{member_id:x}", ended=""))  # fmt: skip
    found = probe(str(hook.record.volume.get("device", "")))
    hook.record.volume = {"storage": hook.record.volume.get("storage", ""),
                          "device": hook.record.volume.get("device", ""), "uuid": found.uuid,
                          "state": "ready"}  # fmt: skip


def move(src: str, dst: str) -> None:
    """etcd's member directory from ``src`` to ``dst`` (etcd stopped): copied beside its
    destination, synced, then renamed into place; the source is kept until etcd answers from
    the new place (:func:`forget`)."""
    source = os.path.join(src, "member")
    target = os.path.join(dst, "member")
    if not os.path.isdir(source):
        if os.path.isdir(target):
            return  # moved already (a retried hook)
        raise VolumeError(f"no etcd data in {src} to move")
    os.makedirs(dst, mode=0o700, exist_ok=True)
    partial = os.path.join(dst, ".member-moving")
    shutil.rmtree(partial, ignore_errors=True)
    if os.path.isdir(target):  # an older copy there: the running member's data wins
        shutil.rmtree(target)
    started = time.monotonic()
    shutil.copytree(source, partial, copy_function=shutil.copy2)
    _run(["sync", "-f", partial])
    os.rename(partial, target)
    os.chmod(dst, 0o700)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(target) for f in fs)
    log(f"moved etcd's data ({size >> 20} MiB) from {src} to {dst} in "
        f"{time.monotonic() - started:.1f} s")  # fmt: skip


def forget(src: str) -> None:
    """The member answers from its new place: the old copy goes."""
    shutil.rmtree(os.path.join(src, "member"), ignore_errors=True)


def unmount_and_forget(hook: Hook) -> None:
    unmount()
    _fstab(None)
    hook.record.volume = {}
    log(f"{V.MOUNT_POINT} unmounted")
