"""etcd's data on a Juju storage volume (``data``), under a client that never stops writing.

One model, tests in order: a 3-unit cluster gets a volume per unit (each member's data moves
there, one unit at a time), one volume is detached again (its data moves back first), a
volume this charm did not make is refused, a removed unit's volume is reused by a new unit
(which joins as a learner and syncs), a unit deployed with storage starts on it, and at last
the application is removed and a new one brings its cluster back from the volumes
(recover-from-volume: the same cluster id, every acknowledged write).

The volumes come from the local model's ``ljvolume`` pool: model-scoped block volumes, as a
cloud's ``ebs`` or ``cinder`` (Juju's LXD cloud has no such pool; its ``loop`` volumes cannot
move between machines). Figures go to ``build/resilience-report.json``.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import jubilant
import pytest

from localjuju import paths

from .conftest import (
    all_healthy,
    etcd_units,
    etcdctl,
    member_list,
    one_at_a_time,
    unit_addresses,
)
from .writes import ContinuousWrites, continuous_writes, db_credentials, note, record

pytestmark = pytest.mark.integration

APP = "etcd"
CLIENT = "etcd-client"
POOL = "ljvolume"
CONF = "/var/snap/etcd/common/etcd.conf.yml"
ON_VOLUME = "/media/etcd/data"
DEFAULT = "/var/snap/etcd/current"
MOVED = re.compile(r"moved etcd's data \((\d+) MiB\) from (\S+) to (\S+) in ([\d.]+) s")


def healthy(juju: jubilant.Juju, count: int, app: str = APP) -> jubilant.Status:
    return juju.wait(all_healthy(app, count), error=jubilant.any_error, timeout=600)


def data_dir(juju: jubilant.Juju, unit: str) -> str:
    out = juju.exec(f"grep '^data-dir:' {CONF}", unit=unit).stdout
    return out.split(":", 1)[1].strip()


def storage(juju: jubilant.Juju) -> dict[str, Any]:
    out = juju.cli("storage", "--format=json")
    return json.loads(out).get("storage", {}) if out.strip() else {}


def storage_of(juju: jubilant.Juju, unit: str) -> str:
    return next(i for i, s in storage(juju).items()
                if unit in (s.get("attachments") or {}).get("units", {}))  # fmt: skip


def volume_file(juju: jubilant.Juju, sid: str) -> str:
    out = json.loads(juju.cli("storage", "--format=json"))
    vol = next(v for v in out["volumes"].values() if v["storage"] == sid)
    return str(paths.model_dir(juju.model or "") / "volumes" / f"{vol['provider-id']}.img")


def moves(juju: jubilant.Juju) -> list[tuple[str, int, str, str, float]]:
    """(unit, MiB, from, to, seconds) of every data move, from the units' logs."""
    out = []
    for line in juju.cli("debug-log", "--replay", "--no-tail", "--include", APP).splitlines():
        m = MOVED.search(line)
        if m:
            unit = re.sub(r"^unit-(.*)-(\d+)$", r"\1/\2", line.split(":", 1)[0])
            out.append((unit, int(m[1]), m[2], m[3], float(m[4])))
    return out


def member_ids(juju: jubilant.Juju, unit: str) -> dict[str, int]:
    return {m["name"]: m["ID"] for m in member_list(juju, unit)}


def test_deploy(juju: jubilant.Juju, etcd_charm: str) -> None:
    juju.deploy("easyrsa")
    juju.deploy(etcd_charm, APP, num_units=3)
    juju.deploy(CLIENT)
    juju.integrate(f"{APP}:certificates", "easyrsa:client")
    juju.integrate(f"{APP}:db", f"{CLIENT}:etcd")
    healthy(juju, 3)
    juju.wait(lambda s: s.apps[CLIENT].units[f"{CLIENT}/0"].workload_status.current == "active")
    assert storage(juju) == {}  # range 0-1: no volume unless asked for


def test_volumes_attached_to_a_running_cluster_take_its_data_one_unit_at_a_time(
    juju: jubilant.Juju,
) -> None:
    units = sorted(unit_addresses(juju.status()))
    before = member_ids(juju, units[0])
    with continuous_writes(juju, "attach-volumes") as writes:
        for unit in units:
            juju.cli("add-storage", unit, f"data={POOL},1G")
        juju.wait(lambda s: all_healthy(APP, 3)(s) and all(
            data_dir(juju, u) == ON_VOLUME for u in units), error=jubilant.any_error,
            timeout=600)  # fmt: skip
        writes.wait_for_acks(20)
    # the same members, each now on its volume: nothing re-joined
    assert member_ids(juju, units[0]) == before
    done = [m for m in moves(juju) if m[3] == ON_VOLUME]
    assert sorted(m[0] for m in done) == units
    one_at_a_time(juju, units, "moving etcd's data from", "moved etcd's data")
    note("attach-volumes", move_s={m[0]: m[4] for m in done}, moved_mib={m[0]: m[1] for m in done})
    for unit in units:
        sid = storage_of(juju, unit)
        out = juju.exec(
            "findmnt -n -o SOURCE,FSTYPE /media/etcd; blkid -o value -s LABEL "
            "$(findmnt -n -o SOURCE /media/etcd); grep ' /media/etcd ' /etc/fstab; "
            "ls /var/snap/etcd/current; snap connections etcd | grep removable-media; "
            "cat /media/etcd/.juju-etcd.json",
            unit=unit,
        ).stdout.splitlines()
        dev = storage(juju)[sid]["attachments"]["units"][unit]["location"]
        assert out[0].split() == [dev, "ext4"] and out[1] == "juju-etcd"
        assert out[2].startswith("UUID=") and out[2].split()[1:4] == ["/media/etcd", "ext4",
                                                                      "defaults"]  # fmt: skip
        assert "member" not in out[3:-2]  # the old copy is gone from the root disk
        marker = json.loads(out[-1])
        assert (marker["unit"], marker["storage"]) == (unit, sid) and marker["cluster"]


def test_detaching_a_volume_moves_the_data_back_first(juju: jubilant.Juju) -> None:
    unit = max(unit_addresses(juju.status()))
    sid = storage_of(juju, unit)
    member = member_ids(juju, unit)[unit.replace("/", "")]
    with continuous_writes(juju, "detach-volume"):
        juju.cli("detach-storage", sid)
        juju.wait(lambda s: storage(juju)[sid]["status"]["current"] == "detached", timeout=300)
        healthy(juju, 3)
    assert data_dir(juju, unit) == DEFAULT
    assert member_ids(juju, unit)[unit.replace("/", "")] == member
    back = [m for m in moves(juju) if m[0] == unit and m[3] == DEFAULT]
    assert back and back[-1][2] == ON_VOLUME
    note("detach-volume", move_s=back[-1][4])
    out = juju.exec("findmnt /media/etcd || echo unmounted; grep -c ' /media/etcd ' /etc/fstab "
                    "|| true", unit=unit).stdout.split()  # fmt: skip
    assert out == ["unmounted", "0"]


def test_a_volume_this_charm_did_not_make_is_refused(juju: jubilant.Juju) -> None:
    detached = next(i for i, s in storage(juju).items() if "attachments" not in s)
    img = volume_file(juju, detached)
    # an operator's disk with something else on it (made here, on the model's host)
    subprocess.run(["mkfs.ext2", "-q", "-F", "-L", "scratch", img], check=True)
    subprocess.run(["debugfs", "-w", "-R", "mkdir keep", img], check=True, capture_output=True)
    unit = max(unit_addresses(juju.status()))
    conf = juju.exec(f"cat {CONF}", unit=unit).stdout
    juju.cli("attach-storage", unit, detached)
    status = juju.wait(
        lambda s: etcd_units(s)[unit].workload_status.current == "blocked", timeout=300
    )
    message = etcd_units(status)[unit].workload_status.message
    assert message == (
        f"Storage {detached} ({storage(juju)[detached]['attachments']['units'][unit]['location']})"
        f' holds an ext2 file system labelled "scratch": not used, nothing changed; detach it '
        f"(juju detach-storage {detached})"
    )
    # nothing changed: not mounted, not formatted, etcd as it was
    assert juju.exec(f"cat {CONF}", unit=unit).stdout == conf
    assert "unmounted" in juju.exec("findmnt /media/etcd || echo unmounted", unit=unit).stdout
    probe = subprocess.run(["blkid", "-o", "value", "-s", "LABEL", img], capture_output=True,
                           text=True, check=True).stdout.strip()  # fmt: skip
    assert probe == "scratch"
    listing = subprocess.run(["debugfs", "-R", "ls", img], capture_output=True, text=True)
    assert "keep" in listing.stdout
    juju.cli("detach-storage", detached)
    healthy(juju, 3)


def test_a_removed_unit_s_volume_joins_a_new_unit_as_a_learner(juju: jubilant.Juju) -> None:
    status = juju.status()
    leader = next(n for n, u in etcd_units(status).items() if u.leader)
    unit = min(u for u in unit_addresses(status) if u != leader)
    sid = storage_of(juju, unit)
    old = member_ids(juju, leader)[unit.replace("/", "")]
    with continuous_writes(juju, "volume-reused-by-a-new-unit"):
        juju.remove_unit(unit)
        juju.wait(lambda s: unit not in s.apps[APP].units and all_healthy(APP, 2)(s),
                  timeout=300)  # fmt: skip
        assert storage(juju)[sid]["status"]["current"] == "detached"
        juju.add_unit(APP, attach_storage=sid)
        status = healthy(juju, 3)
    new = max(unit_addresses(status), key=lambda u: int(u.split("/")[1]))
    ids = member_ids(juju, leader)
    assert unit.replace("/", "") not in ids and old not in ids.values()
    assert data_dir(juju, new) == ON_VOLUME and storage_of(juju, new) == sid
    log = juju.cli("debug-log", "--replay", "--no-tail", "--include", new)
    assert f"{sid} holds an earlier member's data of this cluster: set aside" in log
    assert "stale-member" not in juju.exec("ls -a /media/etcd", unit=new).stdout


def test_a_unit_deployed_with_storage_starts_on_its_volume(
    juju: jubilant.Juju, etcd_charm: str
) -> None:
    juju.deploy(etcd_charm, "etcd-b", storage={"data": f"{POOL},1G"})
    juju.integrate("etcd-b:certificates", "easyrsa:client")
    healthy(juju, 1, "etcd-b")
    assert data_dir(juju, "etcd-b/0") == ON_VOLUME
    assert not [m for m in moves(juju) if m[0].startswith("etcd-b/")]  # started there
    log = juju.cli("debug-log", "--replay", "--no-tail", "--include", "etcd-b/0")
    attached = log.index("run storage-attached (")
    assert attached < log.index("run install hook") < log.index("etcd started as member")


def test_a_removed_application_s_volumes_bring_its_cluster_back_in_a_new_one(
    juju: jubilant.Juju, etcd_charm: str
) -> None:
    """The application goes (its volumes stay); a new one deployed with the volume of the
    cluster's last member brings the cluster back with recover-from-volume: the same cluster
    id and member id, and every write the client had acknowledged."""
    units = sorted(unit_addresses(juju.status()))
    for unit in [
        u
        for u in units
        if not any(
            u in (s.get("attachments") or {}).get("units", {}) for s in storage(juju).values()
        )
    ]:
        juju.cli("add-storage", unit, f"data={POOL},1G")  # every member on a volume
    juju.wait(lambda s: all_healthy(APP, 3)(s) and all(
        data_dir(juju, u) == ON_VOLUME for u in units), error=jubilant.any_error,
        timeout=600)  # fmt: skip
    ids = member_ids(juju, units[0])
    cluster_id = etcdctl(juju, units[0], "endpoint status")[0]["Status"]["header"]["cluster_id"]
    volumes = {u: storage_of(juju, u) for u in units}
    writes = ContinuousWrites(db_credentials(juju, f"{CLIENT}/0"), "cw/application-volumes")
    writes.start().wait_for_acks(20)
    juju.remove_application(APP)  # its volumes stay (ljvolume is persistent)
    juju.wait(lambda s: APP not in s.apps and all(
        storage(juju)[sid]["status"]["current"] == "detached" for sid in volumes.values()),
        timeout=300)  # fmt: skip
    log = juju.cli("debug-log", "--replay", "--no-tail", "--include", APP)
    last = re.findall(r"this member was its cluster's last: (data/\d+) holds", log)
    assert len(last) == 1 and last[0] in volumes.values(), last
    sid = last[0]
    was = next(u for u, s in volumes.items() if s == sid)
    other = next(s for s in volumes.values() if s != sid)  # a removed member's
    token = marker_of(juju, other)["cluster"]
    assert marker_of(juju, sid)["ended"] == "last" and marker_of(juju, other)["ended"] == "removed"

    again = "etcd-again"
    juju.deploy(etcd_charm, again, attach_storage=sid)
    juju.integrate(f"{again}:certificates", "easyrsa:client")
    status = juju.wait(lambda s: f"{again}/0" in etcd_units(s, again) and etcd_units(
        s, again)[f"{again}/0"].workload_status.current == "blocked" and
        jubilant.all_agents_idle(s, again, "easyrsa"), timeout=300)  # fmt: skip
    device = storage(juju)[sid]["attachments"]["units"][f"{again}/0"]["location"]
    assert etcd_units(status, again)[f"{again}/0"].workload_status.message == (
        f"Storage {sid} ({device}) holds etcd data of another cluster ({token[:8]}: "
        f"{was}'s, that cluster's last member): not used, nothing changed; recover-from-volume "
        f"brings that cluster back here, or detach it (juju detach-storage {sid})"
    )
    task = juju.run(f"{again}/0", "recover-from-volume")
    out = task.results["recover"]
    assert (int(out["cluster-id"], 16), int(out["member-id"], 16)) == (
        cluster_id,
        ids[was.replace("/", "")],
    )
    assert (out["storage"], out["from-unit"], out["members"]) == (sid, was, "1")
    juju.integrate(f"{again}:db", f"{CLIENT}:etcd")
    status = healthy(juju, 1, again)
    address = unit_addresses(status, again)[f"{again}/0"]

    def published(_: jubilant.Status) -> bool:
        try:
            return address in ",".join(db_credentials(juju, f"{CLIENT}/0").endpoints)
        except AssertionError:  # not yet on the new relation
            return False

    juju.wait(published, timeout=300)
    report = writes.stop(verify_with=db_credentials(juju, f"{CLIENT}/0"))
    record("application-volumes-reused", report)
    assert report.lost == [] and report.wrong == [] and report.acknowledged > 20, report.summary()
    note("application-volumes-reused", keys=out["keys"], recover_s=out["took"])
    # a removed member's volume on a unit added now: that cluster's stale data, set aside
    juju.add_unit(again, attach_storage=other)
    status = healthy(juju, 2, again)
    new = next(u for u in etcd_units(status, again) if u != f"{again}/0")
    assert data_dir(juju, new) == ON_VOLUME
    assert f"{other} holds an earlier member's data of this cluster: set aside" in juju.cli(
        "debug-log", "--replay", "--no-tail", "--include", new
    )
    listed = member_list(juju, new)
    assert {m["name"] for m in listed} == {f"{again}0", new.replace("/", "")}
    assert etcdctl(juju, new, "endpoint status")[0]["Status"]["header"]["cluster_id"] == cluster_id


def marker_of(juju: jubilant.Juju, sid: str) -> dict[str, Any]:
    """The charm's marker on a detached volume, read on the model's host."""
    out = subprocess.run(["debugfs", "-R", "cat /.juju-etcd.json", volume_file(juju, sid)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return dict(json.loads(out))
