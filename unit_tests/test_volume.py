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
    m = V.Marker("etcd", "etcd/0", "data/0", "t1", extra={"created": 5})
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


# --- the shell's adoption of layer-etcd's volume (lib/etcd_charm/data_volume.py) -----------


class Shell:
    """What data_volume runs, recorded: commands, the marker, /etc/fstab."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, mounted: str, export: str) -> None:
        from etcd_charm import data_volume as DV

        self.ran: list[list[str]] = []
        self.marker: V.Marker | None = None
        self.fstab: list[str | None] = []
        monkeypatch.setattr(DV, "mounted_device", lambda: mounted)
        monkeypatch.setattr(DV, "probe", lambda d: V.Probe.parse(d, export))
        monkeypatch.setattr(DV, "_run", self.run)
        monkeypatch.setattr(DV, "read_marker", lambda: self.marker)
        monkeypatch.setattr(DV, "write_marker", lambda m: setattr(self, "marker", m))
        monkeypatch.setattr(DV, "_fstab", lambda uuid: self.fstab.append(uuid))
        monkeypatch.setattr(DV.hookenv, "storage_list", lambda name=None: ["data/4"])
        monkeypatch.setattr(DV.hookenv, "log", lambda *a, **k: None)

    def run(self, argv: list[str]) -> str:
        self.ran.append(argv)
        return ""


def hook() -> object:
    from etcd_charm.context import Hook
    from etcd_charm.record import Record

    from .fixtures import Kv

    return Hook("etcd/2", "upgrade-charm", Record(Kv()), {}, None, [])


def test_layer_etcd_s_volume_is_kept_labelled_marked_and_mounted_by_uuid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from etcd_charm import data_volume as DV

    sh = Shell(monkeypatch, "/dev/xvdf", "UUID=42\nTYPE=ext4\nUSAGE=filesystem\n")
    h = hook()
    rec = DV.adopt(h)  # type: ignore[arg-type]
    assert rec == {"storage": "data/4", "device": "/dev/xvdf", "uuid": "42", "state": "ready",
                   "adopted": "layer-etcd"}  # fmt: skip
    assert h.record.volume == rec  # type: ignore[attr-defined]
    assert sh.ran == [["e2label", "/dev/xvdf", V.LABEL]]
    assert sh.marker is not None and (sh.marker.unit, sh.marker.storage) == ("etcd/2", "data/4")
    assert sh.fstab == ["42"]
    # the data stays: its configuration names the volume's directory
    assert V.data_dir(rec["state"], "/var/snap/etcd/current") == V.DATA_DIR


@pytest.mark.parametrize(
    "mounted, export",
    [("", ""), ("/dev/xvdf", "UUID=1\nTYPE=xfs\nUSAGE=filesystem\n"),
     ("/dev/xvdf", "UUID=1\nLABEL=other\nTYPE=ext4\nUSAGE=filesystem\n")],
)  # fmt: skip
def test_nothing_or_something_else_at_the_mount_point_is_left_alone(
    monkeypatch: pytest.MonkeyPatch, mounted: str, export: str
) -> None:
    from etcd_charm import data_volume as DV

    sh = Shell(monkeypatch, mounted, export)
    h = hook()
    assert DV.adopt(h) == {}  # type: ignore[arg-type]
    assert h.record.volume == {} and sh.ran == [] and sh.fstab == []  # type: ignore[attr-defined]


def test_the_database_file_is_read_where_etcd_runs_it_from(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    """Snapshots from a stopped member, a restore's room check and its swap read the data
    directory of the written etcd.conf.yml: the volume's once the member moved there."""
    from etcd_charm import etcd_conf as C
    from etcd_charm import snapshot_take, workload

    conf = {"text": "name: etcd0\ndata-dir: /media/etcd/data\n"}
    monkeypatch.setattr(workload, "read_file", lambda path: conf["text"] if path == C.CONF_PATH
                        else "")  # fmt: skip
    assert workload.running_data_dir() == V.DATA_DIR
    assert snapshot_take.db_file() == "/media/etcd/data/member/snap/db"
    conf["text"] = "name: etcd0\n"  # no data-dir (or no file): the snap's data directory
    assert snapshot_take.db_file() == f"{C.DATA_DIR}/member/snap/db"


def test_a_location_that_is_a_link_is_the_device_findmnt_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    """On a cloud, storage-get location is /dev/disk/by-id/... (a link) where findmnt names
    /dev/nvme1n1: the mounted volume is recognised all the same."""
    import os

    from etcd_charm import data_volume as DV

    d = str(tmp_path)
    os.symlink(f"{d}/nvme1n1", f"{d}/by-id-vol")
    open(f"{d}/nvme1n1", "w").close()
    monkeypatch.setattr(DV, "mounted_device", lambda: f"{d}/nvme1n1")
    assert DV.mounted_is(f"{d}/by-id-vol") and DV.mounted_is(f"{d}/nvme1n1")
    assert not DV.mounted_is(f"{d}/other")
    monkeypatch.setattr(DV, "mounted_device", lambda: "")
    assert not DV.mounted_is(f"{d}/by-id-vol")


# --- recover-from-volume ------------------------------------------------------------------

REFUSED = {"storage": "data/1", "device": "/dev/loop0", "state": "refused",
           "found": "etcd data of another cluster", "cluster": "b0e9af29c8f1", "unit": "etcd/1",
           "ended": "last", "member": "acf0f7419ecaca2c"}  # fmt: skip


@pytest.mark.parametrize(
    "volume, leader, others, keys, force, refusal",
    [
        (REFUSED, True, [], 0, False, ""),
        (REFUSED, True, [], None, False, ""),  # its own member does not run: nothing to lose
        ({**REFUSED, "ended": ""}, True, [], 0, False, ""),  # not said (a machine lost)
        (REFUSED, False, [], 0, False, "this unit is not the Juju leader"),
        (REFUSED, True, ["etcd/1"], 0, True, "the application has other units (etcd/1)"),
        ({**REFUSED, "ended": "removed"}, True, [], 0, False, "which was removed from its"),
        ({**REFUSED, "ended": "removed"}, True, [], 0, True, ""),
        (REFUSED, True, [], 3, False, "holds 3 key(s), which would be discarded"),
        (REFUSED, True, [], 3, True, ""),
        ({}, True, [], 0, False, "this unit has no data volume"),
        (
            {**REFUSED, "state": "ready", "cluster": ""},
            True,
            [],
            0,
            True,
            "data/1 holds no other cluster's data",
        ),
        (
            {**REFUSED, "cluster": ""},
            True,
            [],
            0,
            False,
            "data/1 holds no other cluster's data",
        ),  # foreign: not etcd's at all
    ],
)
def test_when_recover_from_volume_is_refused(
    volume: dict, leader: bool, others: list, keys: int | None, force: bool, refusal: str
) -> None:
    said = V.recovery_refusal(volume, leader, others, keys, force)
    assert (said == "") if not refusal else (refusal in said), said


@pytest.mark.parametrize(
    "ended, said",
    [
        ("", "(b0e9af29: etcd/1's member)"),
        ("removed", "(b0e9af29: etcd/1's member, removed from that cluster when its unit went)"),
        ("last", "(b0e9af29: etcd/1's, that cluster's last member)"),
    ],
)
def test_another_cluster_s_volume_says_whose_member_it_was(ended: str, said: str) -> None:
    marker = V.Marker("etcd", "etcd/1", "data/1", "b0e9af29c8f16ede", "acf0", ended)
    assert V.found_cluster(marker) == f"etcd data of another cluster {said}"
    assert V.found_cluster(V.Marker()).startswith(
        "etcd data of another cluster (a cluster that never started: an unknown unit's"
    )


def test_marker_keeps_the_member_and_how_it_ended() -> None:
    marker = V.Marker("etcd", "etcd/1", "data/1", "tok", "acf0", "last", {"later": 1})
    assert V.Marker.from_json(marker.to_json()) == marker
    assert V.Marker.from_json({"charm": "etcd", "cluster": "tok"}) == V.Marker(cluster="tok")


def test_a_refused_volume_of_another_cluster_names_the_action() -> None:
    from etcd_charm import data_volume as DV

    class Hook:
        record = type("R", (), {"volume": REFUSED})()

    said = DV.problem(Hook())  # type: ignore[arg-type]
    assert said == (
        "Storage data/1 (/dev/loop0) holds etcd data of another cluster: not used, nothing "
        "changed; recover-from-volume brings that cluster back here, or detach it "
        "(juju detach-storage data/1)"
    )
    Hook.record.volume = {k: v for k, v in REFUSED.items() if k != "cluster"}
    assert DV.problem(Hook()).endswith("nothing changed; detach it (juju detach-storage data/1)")  # type: ignore[arg-type]


def test_the_marker_names_the_cluster_once_the_member_runs_on_the_volume(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hook that moves the data onto a volume may be the volume's last before it goes
    (the unit removed next): the marker must say whose data it is by then, or the volume
    reads as "a cluster that never started" to the application that gets it."""
    from etcd_charm import data_volume as DV
    from etcd_charm import etcd_conf as C

    sh = Shell(monkeypatch, "/dev/loop3", "")
    runs_from = {"dir": C.DATA_DIR}
    monkeypatch.setattr(DV.workload, "running_data_dir", lambda: runs_from["dir"])
    sh.marker = V.Marker("etcd", "etcd/2", "data/4")  # as mounting wrote it: no cluster yet
    h = hook()
    h.record.started = True  # type: ignore[attr-defined]
    DV.claim(h)  # type: ignore[arg-type]
    assert sh.marker.cluster == ""  # no member ever started here: nothing to claim
    h.record.bootstrap = C.Bootstrap("etcd2=https://10.0.0.3:2380", "7efcb619", "new")  # type: ignore[attr-defined]
    h.record.member_id = 0x96213B53  # type: ignore[attr-defined]
    DV.claim(h)  # type: ignore[arg-type]
    assert sh.marker.cluster == ""  # etcd does not run from the volume (yet)
    runs_from["dir"] = V.DATA_DIR
    DV.claim(h)  # type: ignore[arg-type]
    assert (sh.marker.cluster, sh.marker.member, sh.marker.storage) == (
        "7efcb619", "96213b53", "data/4")  # fmt: skip
    DV.mark_ended("last")
    assert (sh.marker.cluster, sh.marker.ended) == ("7efcb619", "last")
