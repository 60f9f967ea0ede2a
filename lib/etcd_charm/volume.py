"""The ``data`` volume, decisions only: what a block device holds, what this charm may do
with it, and where etcd's data lives. Pure (the shell is :mod:`data_volume`).

The layout is layer-etcd's: the volume, ext4, mounted at ``/media/etcd``; etcd's data
directory ``/media/etcd/data``; the snap reaches ``/media`` through its ``removable-media``
plug. This charm labels the file systems it makes (``juju-etcd``) and leaves a marker file at
the volume's root naming the application, unit and cluster it held data for. A volume is
this charm's only when both say so: anything else on the device (another file system, a
partition table, an ext4 without the label or the marker) is foreign and never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

MOUNT_POINT = "/media/etcd"
DATA_DIR = f"{MOUNT_POINT}/data"
LABEL = "juju-etcd"
MARKER = f"{MOUNT_POINT}/.juju-etcd.json"
STORE = "data"

#: a volume's states in unit storage: mounted (the file system is ready at the mount point),
#: ready (the snap reaches it: etcd's data may live there), refused (foreign: nothing done)
State = Literal["mounted", "ready", "refused"]


@dataclass(frozen=True)
class Probe:
    """What ``blkid -p`` finds on the device (its low-level superblock probe)."""

    device: str
    fs_type: str = ""  # TYPE
    label: str = ""  # LABEL
    uuid: str = ""  # UUID
    pttype: str = ""  # PTTYPE: a partition table
    usage: str = ""  # USAGE: filesystem, raid, crypto, other

    @classmethod
    def parse(cls, device: str, export: str) -> Probe:
        """From ``blkid -p -o export`` (KEY=value lines)."""
        values: dict[str, str] = {}
        for line in export.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = value.strip()
        return cls(
            device=device,
            fs_type=values.get("TYPE", ""),
            label=values.get("LABEL", ""),
            uuid=values.get("UUID", ""),
            pttype=values.get("PTTYPE", ""),
            usage=values.get("USAGE", ""),
        )

    @property
    def blank(self) -> bool:
        return not (self.fs_type or self.pttype or self.usage)

    @property
    def labelled_ours(self) -> bool:
        return self.fs_type == "ext4" and self.label == LABEL


Kind = Literal["blank", "ours", "foreign"]


def classify(probe: Probe) -> Kind:
    """Blank (nothing on it: this charm formats it), ours (its ext4, by label; the marker is
    checked once mounted), foreign (anything else)."""
    if probe.blank:
        return "blank"
    if probe.labelled_ours:
        return "ours"
    return "foreign"


def describe(probe: Probe) -> str:
    """What a foreign device holds, in the operator's words."""
    if probe.pttype:
        return f"{_a(probe.pttype)} {probe.pttype} partition table"
    if probe.fs_type:
        label = f'labelled "{probe.label}"' if probe.label else "without a label"
        return f"{_a(probe.fs_type)} {probe.fs_type} file system {label}"
    return f"{probe.usage or 'unrecognised'} data"


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiox" else "a"


@dataclass(frozen=True)
class Marker:
    """The marker file at the volume's root."""

    application: str = ""
    unit: str = ""
    storage: str = ""
    cluster: str = ""  # the cluster token whose data it holds ("" before the member started)
    member: str = ""  # the member's id (hex) once it ran on the volume
    #: how the member's life on it ended: "" (it ran, or still runs), "removed" (its unit
    #: went and the member left the cluster: its data stops there), "last" (its unit went
    #: as the cluster's only member: its data is the cluster's, every acknowledged write)
    ended: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"charm": "etcd", "application": self.application, "unit": self.unit,
                "storage": self.storage, "cluster": self.cluster, "member": self.member,
                "ended": self.ended, **self.extra}  # fmt: skip

    @classmethod
    def from_json(cls, d: Any) -> Marker | None:
        if not isinstance(d, dict) or d.get("charm") != "etcd":
            return None
        known = {"charm", "application", "unit", "storage", "cluster", "member", "ended"}
        return cls(
            application=str(d.get("application", "")),
            unit=str(d.get("unit", "")),
            storage=str(d.get("storage", "")),
            cluster=str(d.get("cluster", "")),
            member=str(d.get("member", "")),
            ended=str(d.get("ended", "")),
            extra={k: v for k, v in d.items() if k not in known},
        )


Reuse = Literal["fresh", "stale", "other-cluster"]


def reuse(has_data: bool, marker: Marker, cluster_token: str) -> Reuse:
    """What to make of etcd data found on a volume of this charm.

    - fresh: no member data on it.
    - stale: data of this very cluster (a unit that was removed, or one that had the volume
      before): never trusted as membership; it is set aside and the unit syncs from the
      cluster like any new member, so nothing the cluster acknowledged since is lost.
    - other-cluster: data of another cluster (or of one before this application founded
      its own): bringing it back is the operator's decision, not the charm's.
    """
    if not has_data:
        return "fresh"
    if cluster_token and marker.cluster == cluster_token:
        return "stale"
    return "other-cluster"


def found_cluster(marker: Marker) -> str:
    """What a volume with another cluster's data holds, in the operator's words."""
    whose = marker.cluster[:8] if marker.cluster else "a cluster that never started"
    by = marker.unit or "an unknown unit"
    how = {
        "removed": f"{by}'s member, removed from that cluster when its unit went",
        "last": f"{by}'s, that cluster's last member",
    }.get(marker.ended, f"{by}'s member")
    return f"etcd data of another cluster ({whose}: {how})"


def recovery_refusal(
    volume: dict[str, Any], leader: bool, others: list[str], keys: int | None, force: bool
) -> str:
    """Why ``recover-from-volume`` may not bring back the cluster on this unit's refused
    volume ("" when it may): it runs on the Juju leader of an application that has no other
    unit yet; the volume holds another cluster's data; without ``force``, that data is its
    last member's (a removed member's stops when it left) and the one-member cluster this
    unit started holds no key (it would be discarded)."""
    if not leader:
        return ("this unit is not the Juju leader: the cluster comes back on the leader "
                "(juju run etcd/leader recover-from-volume)")  # fmt: skip
    if volume.get("state") != "refused" or not volume.get("cluster"):
        sid = volume.get("storage")
        if not sid:
            return ("this unit has no data volume: deploy the application with the old one "
                    "(juju deploy etcd --attach-storage data/N)")  # fmt: skip
        return f"{sid} holds no other cluster's data: there is nothing to bring back"
    if others:
        return (f"the application has other units ({', '.join(others)}): the cluster comes "
                "back on this unit alone; remove them (juju remove-unit), then add units "
                "once it is back")  # fmt: skip
    if force:
        return ""
    sid = volume.get("storage", "")
    if volume.get("ended") == "removed":
        return (f"{sid} holds the data of {volume.get('unit') or 'a member'}, which was "
                "removed from its cluster when its unit went: it lacks what the cluster "
                "acknowledged afterwards; use the volume of that cluster's last member (its "
                "detaching hook logged which), or force=true to use this one anyway")  # fmt: skip
    if keys:
        return (f"the cluster this unit runs holds {keys} key(s), which would be discarded; "
                "force=true discards them")  # fmt: skip
    return ""


def data_dir(state: str, default: str) -> str:
    """Where etcd's data lives: on the volume once the snap reaches it, else ``default``."""
    return DATA_DIR if state == "ready" else default


def fstab_line(uuid: str) -> str:
    """The volume in /etc/fstab, by UUID (a device name may change across reboots). No
    ``nofail``: a machine that lost the volume must not start etcd on an empty directory."""
    return f"UUID={uuid} {MOUNT_POINT} ext4 defaults 0 2"


def fstab_without(text: str) -> str:
    """``/etc/fstab`` without any line for the mount point."""
    lines = [
        ln
        for ln in text.splitlines()
        if not (ln.split()[1:2] == [MOUNT_POINT] and not ln.lstrip().startswith("#"))
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def fstab_with(text: str, uuid: str) -> str:
    return fstab_without(text) + fstab_line(uuid) + "\n"
