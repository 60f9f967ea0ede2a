"""The real etcd snap's ways on three units: strict confinement (the snapshot action's default
target, a confined etcdctl refused where AppArmor would refuse it), snapd's own refreshes of
etcd held, and an in-track refresh 3.5.16 -> 3.5.30 driven by the refresh action under
continuous writes.

One model, tests in order. The store's newer revision is released into the model's
3.5/stable at run time (``localjuju store release``): on a real controller these tests need
a store that releases a newer revision of the units' channel, and are skipped.
"""

from __future__ import annotations

import re
import time

import jubilant
import pytest

from .conftest import (
    LOCAL,
    all_healthy,
    etcd_units,
    etcdctl,
    failure,
    one_at_a_time,
    run,
    stored_backups,
    unit_addresses,
)
from .writes import continuous_writes, note

pytestmark = pytest.mark.integration

APP = "etcd"
CLIENT = "etcd-client"
OLD, NEW = ("3.5.16", "516"), ("3.5.30", "530")
SCENARIO = "in-track-refresh-3.5.16-3.5.30"


def snap_list(juju: jubilant.Juju, unit: str) -> list[str]:
    """etcd's row of ``snap list``: Name Version Rev Tracking Publisher Notes."""
    return juju.exec("snap list etcd", unit=unit).stdout.splitlines()[1].split()


def sh(juju: jubilant.Juju, unit: str, command: str) -> tuple[int, str]:
    task = juju.exec(f"{command} 2>&1; echo rc=$?", unit=unit)
    out, _, rc = task.stdout.rstrip().rpartition("rc=")
    return int(rc), out.strip()


def test_deploy(juju: jubilant.Juju, etcd_charm: str) -> None:
    juju.model_config({"update-status-hook-interval": "10s"})
    juju.deploy("easyrsa")
    juju.deploy(etcd_charm, APP, num_units=3)
    juju.deploy(CLIENT)
    juju.integrate(f"{APP}:certificates", "easyrsa:client")
    juju.integrate(f"{APP}:db", f"{CLIENT}:etcd")
    juju.wait(all_healthy(APP, 3), error=jubilant.any_error, timeout=600)
    juju.wait(lambda s: s.apps[CLIENT].units[f"{CLIENT}/0"].workload_status.current == "active")
    for unit in unit_addresses(juju.status()):
        name, version, rev, tracking, _, notes = snap_list(juju, unit)
        # auto took the newest track the store has; only the charm refreshes etcd
        assert (version, rev, tracking) == (*OLD, "3.5/stable")
        assert "held" in notes.split(","), notes


def test_confinement_bites_where_apparmor_would(juju: jubilant.Juju) -> None:
    unit = "etcd/0"
    juju.exec(
        "mkdir -p /root/.hidden /home/ubuntu/etcd-snapshots && chmod 700 /home/ubuntu/etcd-snapshots"
        " && chown ubuntu:ubuntu /home/ubuntu/etcd-snapshots",
        unit=unit,
    )
    save = "/snap/bin/etcd.etcdctl snapshot save"
    flags = (
        "--endpoints=https://127.0.0.1:2379 --cacert=/var/snap/etcd/common/ca.crt "
        "--cert=/var/snap/etcd/common/client.crt --key=/var/snap/etcd/common/client.key"
    )
    for refused in ("/root/.hidden/s.db", "/home/ubuntu/etcd-snapshots/s.db", "/srv/s.db"):
        rc, out = sh(juju, unit, f"{save} {refused} {flags}")
        assert rc != 0, (refused, out)
        assert sh(juju, unit, f"test -e {refused}")[0] == 1
    # the snap's own directory is allowed (and where the charm saves)
    rc, out = sh(juju, unit, f"{save} /var/snap/etcd/common/s.db {flags}")
    assert rc == 0, out
    juju.exec("rm -f /var/snap/etcd/common/s.db", unit=unit)
    # the snapshot action's default target is the operator's 0700 home: it works there
    results = run(juju, unit, "snapshot")
    path = results["snapshot"]["path"]
    assert path.startswith("/home/ubuntu/etcd-snapshots/etcd-snapshot-"), path
    rc, out = sh(juju, unit, f"stat -c '%a %U' {path}")
    assert (rc, out) == (0, "600 ubuntu")
    assert sh(juju, unit, "ls -A /var/snap/etcd/common/snapshot-work")[1] == ""


def release(juju: jubilant.Juju, revision: str, channel: str) -> None:
    if not LOCAL:
        pytest.skip("needs a store that releases a newer revision into the units' channel")
    juju.cli("store", "release", "etcd", revision, channel, include_model=True)


def last_auto_refresh(juju: jubilant.Juju, unit: str) -> str:
    out = juju.exec("snap refresh --time", unit=unit).stdout
    m = re.search(r"^last: (.+)$", out, re.M)
    return m.group(1).strip() if m else ""


def test_snapd_does_not_refresh_etcd_behind_the_charm(juju: jubilant.Juju) -> None:
    units = sorted(unit_addresses(juju.status()))
    before = {u: last_auto_refresh(juju, u) for u in units}
    release(juju, NEW[1], "3.5/stable")
    # snapd refreshes on its own every 2 s from now on (localjuju only: release skips elsewhere)
    juju.model_config({"localjuju-snap-auto-refresh": "2s"})
    # snapd ran its automatic refresh on every machine after the release ...
    juju.wait(
        lambda _: all(last_auto_refresh(juju, u) not in ("", before[u]) for u in units),
        timeout=120,
        delay=2,
    )
    # ... and left etcd alone: it is held
    for unit in units:
        assert snap_list(juju, unit)[1:3] == list(OLD)
    assert {
        r["Status"]["version"] for r in etcdctl(juju, "etcd/0", "endpoint status --cluster")
    } == {OLD[0]}
    # the leader says a newer revision is there (its update-status asks the store)
    available = f"etcd {NEW[0]} (revision {NEW[1]}) is available: run the refresh action"
    status = juju.wait(
        lambda s: any(available in u.workload_status.message for u in etcd_units(s).values()),
        timeout=120,
    )
    leader = next(n for n, u in etcd_units(status).items() if u.leader)
    assert etcd_units(status)[leader].workload_status.message == (
        f"Healthy with 3 known peers; {available}"
    )
    juju.model_config({"localjuju-snap-auto-refresh": "0"})  # proven; spare the machines' CPU


def test_refresh_is_refused_where_it_cannot_run(juju: jubilant.Juju) -> None:
    status = juju.status()
    follower = next(n for n, u in etcd_units(status).items() if not u.leader)
    message = failure(juju, follower, "refresh")
    assert message == (
        f"{follower} is not the leader: run it on the leader (juju run etcd/leader refresh)"
    )


def test_in_track_refresh_under_writes(juju: jubilant.Juju) -> None:
    seen: set[str] = set()
    units = sorted(unit_addresses(juju.status()))
    leader = next(n for n, u in etcd_units(juju.status()).items() if u.leader)

    def refreshed(status: jubilant.Status) -> bool:
        for unit in etcd_units(status).values():
            seen.add(unit.workload_status.message)
        return all_healthy(APP, 3)(status) and all(
            snap_list(juju, u)[1:3] == list(NEW) for u in units
        )

    started = time.monotonic()
    with continuous_writes(juju, SCENARIO):
        results = run(juju, leader, "refresh")
        assert results["refresh"]["channel"] == "3.5/stable"
        assert (results["refresh"]["version"], results["refresh"]["revision"]) == NEW
        assert results["refresh"]["units"] == "3"
        juju.wait(refreshed, timeout=900, delay=2)
    took = time.monotonic() - started
    progress = sorted(
        m for m in seen if re.search(r"pgrading etcd \d/3 to 3.5/stable revision 530", m)
    )
    assert progress, seen
    versions = {
        r["Status"]["version"] for r in etcdctl(juju, units[0], "endpoint status --cluster")
    }
    assert versions == {NEW[0]}
    for unit in units:
        assert "held" in snap_list(juju, unit)[5].split(",")  # still only the charm refreshes
        kept = stored_backups(juju, unit, "pre-upgrade")
        assert [b["snapshot"]["etcd_version"] for b in kept] == [OLD[0]], kept
        assert kept[0]["archive_stat"][0] == "600" and kept[0]["archive_stat"][1] > 0, kept
    # one unit at a time: each unit's snapshot..refreshed window ends before the next begins
    one_at_a_time(juju, units, "snapshot before the upgrade", f"upgraded to etcd {NEW[0]}")
    note(SCENARIO, refresh_seconds=round(took, 1), seconds_per_unit=round(took / 3, 1))
    # the refresh target is gone once every unit is on it; running again: up to date
    juju.wait(
        lambda s: all_healthy(APP, 3)(s)
        and "available" not in " ".join(u.workload_status.message for u in etcd_units(s).values()),
        timeout=120,
    )
    again = run(juju, leader, "refresh")
    assert again["output"] == f"etcd is up to date: 3.5/stable revision {NEW[1]} (etcd {NEW[0]})"
