"""The data volume's decisions (lib/etcd_charm/volume.py): what a device holds, what may be
done with it, where etcd's data lives, and /etc/fstab."""

from __future__ import annotations

import pytest

from etcd_charm import volume as V

BLANK = ""
OURS = "DEVNAME=/dev/loop3\nLABEL=juju-etcd\nUUID=1234-abcd\nVERSION=1.0\nTYPE=ext4\nUSAGE=filesystem\n"
EXT4 = "UUID=99\nTYPE=ext4\nUSAGE=filesystem\n"
XFS = "LABEL=scratch\nUUID=5\nTYPE=xfs\nUSAGE=filesystem\n"
GPT = "PTUUID=77\nPTTYPE=gpt\n"
LUKS = "UUID=8\nTYPE=crypto_LUKS\nUSAGE=crypto\n"


@pytest.mark.parametrize(
    "export, kind, said",
    [
        (BLANK, "blank", ""),
        (OURS, "ours", ""),
        (EXT4, "foreign", "an ext4 file system without a label"),
        (XFS, "foreign", 'an xfs file system labelled "scratch"'),
        (GPT, "foreign", "a gpt partition table"),
        (LUKS, "foreign", "a crypto_LUKS file system without a label"),
        ("USAGE=raid\n", "foreign", "raid data"),
    ],
)
def test_what_a_device_holds(export: str, kind: str, said: str) -> None:
    probe = V.Probe.parse("/dev/loop3", export)
    assert V.classify(probe) == kind
    if said:
        assert V.describe(probe) == said


def test_our_probe_reads_blkid_export() -> None:
    p = V.Probe.parse("/dev/loop3", OURS)
    assert (p.fs_type, p.label, p.uuid, p.blank) == ("ext4", "juju-etcd", "1234-abcd", False)


@pytest.mark.parametrize(
    "has_data, cluster, token, verdict",
    [
        (False, "", "t1", "fresh"),
        (False, "t0", "t1", "fresh"),  # only the marker: nothing to protect
        (True, "t1", "t1", "stale"),  # this cluster's: set aside, the unit syncs
        (True, "t0", "t1", "other-cluster"),  # another cluster's: the operator decides
        (True, "", "t1", "other-cluster"),  # a member that never recorded its cluster
        (True, "t1", "", "other-cluster"),  # no cluster yet here: never adopted silently
    ],
)
def test_reuse(has_data: bool, cluster: str, token: str, verdict: str) -> None:
    assert V.reuse(has_data, V.Marker(cluster=cluster), token) == verdict


def test_the_data_lives_on_the_volume_only_once_the_snap_reaches_it() -> None:
    default = "/var/snap/etcd/current"
    assert [V.data_dir(s, default) for s in ("", "mounted", "ready", "refused", "detaching")] == [
        default, default, V.DATA_DIR, default, default]  # fmt: skip


def test_marker_round_trip_keeps_unknown_keys() -> None:
    m = V.Marker("etcd", "etcd/0", "data/0", "t1", {"created": 5})
    assert V.Marker.from_json(m.to_json()) == m
    assert V.Marker.from_json({"charm": "other"}) is None
    assert V.Marker.from_json([1]) is None


def test_fstab_by_uuid_replaces_only_the_mount_point_s_line() -> None:
    text = (
        "LABEL=cloudimg-rootfs\t/\t ext4\tdefaults\t0 1\n"
        "/dev/loop1 /media/etcd ext4 defaults 0 0\n"  # layer-etcd's line, by device
        "# UUID=old /media/etcd ext4 defaults 0 2\n"
        "UUID=x /srv ext4 defaults 0 2\n"
    )
    out = V.fstab_with(text, "1234")
    assert out.splitlines() == [
        "LABEL=cloudimg-rootfs\t/\t ext4\tdefaults\t0 1",
        "# UUID=old /media/etcd ext4 defaults 0 2",
        "UUID=x /srv ext4 defaults 0 2",
        "UUID=1234 /media/etcd ext4 defaults 0 2",
    ]
    assert V.fstab_with(out, "1234") == out
    assert V.fstab_without(out).splitlines() == out.splitlines()[:3]
