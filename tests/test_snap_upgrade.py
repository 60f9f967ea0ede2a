"""Migrating a cluster the deb-era charm installed (etcd from the Debian package,
etcd.service, data in /var/lib/etcd) to the snap with the snap-upgrade action, one unit at a
time, under continuous writes.

The deb-era cluster comes from ``tests/charms/etcd-deb`` (a fixture standing for revision 24
and earlier of the etcd charm); ``juju refresh`` puts this charm on it. One model, tests in
order.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any

import jubilant
import pytest

from .conftest import all_healthy, etcd_units, etcdctl, failure, packed, run
from .writes import continuous_writes

pytestmark = pytest.mark.integration

APP = "etcd"
CLIENT = "etcd-client"
FIXTURE = Path(__file__).resolve().parent / "charms" / "etcd-deb"
VERSION = "3.4.23"
PACKAGE_CTL = (
    "ETCDCTL_API=3 /usr/bin/etcdctl --endpoints=https://127.0.0.1:2379 "
    "--cacert=/etc/ssl/etcd/ca.crt --cert=/etc/ssl/etcd/client.crt --key=/etc/ssl/etcd/client.key"
)
UNITS = [f"{APP}/{n}" for n in range(3)]
#: what the tests before the migration saw: member name -> id, and the cluster id
BEFORE: dict[str, Any] = {}


def package_members(juju: jubilant.Juju, unit: str) -> dict[str, Any]:
    """``member list`` through the package's etcdctl (before the migration)."""
    return json.loads(juju.exec(f"{PACKAGE_CTL} -w json member list", unit=unit).stdout)


def ids(listing: dict[str, Any]) -> dict[str, int]:
    return {m["name"]: int(m["ID"]) for m in listing["members"]}


def held(unit: str) -> str:
    return (
        f"etcd runs from the Debian package: migrate it to the snap with 'juju run {unit} "
        "snap-upgrade' (one unit at a time, the leader first)"
    )


#: flags the deb-era charm left on every unit of a formed cluster (layer-etcd as of 2017-02-02,
#: its layers and interfaces): the fixture writes them to each unit's .unit-state.db
DEB_ERA_FLAGS = {
    "etcd.installed",
    "etcd.package.adjusted",
    "etcd.pillowmints",
    "etcd.ssl.placed",
    "tls_client.ca.saved",
    "certificates.available",
    "cluster.joined",
    "leadership.set.token",
}
#: read by the machine's own python3 (its base's CPython, standard library only)
READ_FLAGS = (
    "import json, sqlite3, sys; "
    "c = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True); "
    "print(json.dumps(sorted(k for (k,) in c.execute("
    "\"select key from kv where key like 'reactive.states.%'\"))))"
)


def flags(juju: jubilant.Juju, unit: str) -> set[str]:
    """The reactive flags in the unit's charmhelpers unit state (its charm directory's
    .unit-state.db: table kv, one key reactive.states.<flag> per flag)."""
    db = f"/var/lib/juju/agents/unit-{unit.replace('/', '-')}/charm/.unit-state.db"
    out = juju.exec(f"python3 -c {shlex.quote(READ_FLAGS)} {db}", unit=unit).stdout
    return {key.removeprefix("reactive.states.") for key in json.loads(out)}


def flags_after_a_hook(
    juju: jubilant.Juju, unit: str, wanted: set[str], timeout: float = 120
) -> set[str]:
    """The unit's flags once they hold ``wanted`` (set by a hook: the status an action set may
    come first), or as they are at the deadline (update-status runs every 10 s here)."""
    deadline = time.monotonic() + timeout
    while True:
        now = flags(juju, unit)
        if wanted <= now or time.monotonic() > deadline:
            return now
        time.sleep(2)


def sh(juju: jubilant.Juju, unit: str, command: str) -> str:
    """A shell command's output on a unit (its exit status is printed last)."""
    return juju.exec(f"{command}; echo rc=$?", unit=unit).stdout.strip()


def test_deploy_the_package_cluster(juju: jubilant.Juju) -> None:
    juju.model_config({"update-status-hook-interval": "10s"})
    juju.deploy("easyrsa")
    juju.deploy(packed(FIXTURE), APP, num_units=3)
    juju.deploy(CLIENT)
    juju.integrate(f"{APP}:certificates", "easyrsa:client")
    juju.integrate(f"{APP}:db", f"{CLIENT}:etcd")
    juju.wait(all_healthy(APP, 3), error=jubilant.any_error, timeout=600)
    listing = package_members(juju, "etcd/0")
    assert sorted(ids(listing)) == ["etcd0", "etcd1", "etcd2"]
    BEFORE["ids"] = ids(listing)
    BEFORE["cluster"] = int(listing["header"]["cluster_id"])
    # data written before the refresh, through the package's etcdctl
    juju.exec(
        f"for i in $(seq -w 1 50); do {PACKAGE_CTL} put before/$i v$i >/dev/null || exit 1; done",
        unit="etcd/1",
    )
    bootstrapped = []
    for unit in UNITS:
        assert "3.4.23" in sh(juju, unit, "dpkg-query -W -f '${Version}' etcd-server")
        assert sh(juju, unit, "systemctl is-active etcd") == "active\nrc=0"
        left = flags(juju, unit)
        assert DEB_ERA_FLAGS <= left, DEB_ERA_FLAGS - left
        assert ("etcd.leader.configured" in left) != ("etcd.registered" in left), left
        if "etcd.leader.configured" in left:
            bootstrapped.append(unit)
    assert len(bootstrapped) == 1, bootstrapped


def test_refresh_keeps_the_package_member_running(juju: jubilant.Juju, etcd_charm: str) -> None:
    juju.refresh(APP, path=etcd_charm)
    juju.wait(
        lambda s: all(
            u.workload_status.current == "blocked" and u.workload_status.message == held(name)
            for name, u in etcd_units(s).items()
        ),
        error=jubilant.any_error,
        timeout=300,
    )
    for unit in UNITS:
        # the deb-era charm's flags survived the refresh, etcd.installed among them, and did
        # not skip this charm's install: it ran and holds the package (the status above)
        left = flags(juju, unit)
        assert DEB_ERA_FLAGS <= left, DEB_ERA_FLAGS - left
        assert "etcd.snap.installed" not in left and "etcd.started" not in left, left
        assert sh(juju, unit, "systemctl is-active etcd") == "active\nrc=0"
        assert sh(juju, unit, "snap list etcd >/dev/null 2>&1").endswith("rc=1")  # no snap
        # the certificates from the relation are in place for the migration
        assert sh(juju, unit, "stat -c %a /var/snap/etcd/common/server.key") == "600\nrc=0"
    assert ids(package_members(juju, "etcd/2")) == BEFORE["ids"]


def test_refusals_change_nothing(juju: jubilant.Juju) -> None:
    # no snap resource attached
    message = failure(juju, "etcd/1", "snap-upgrade", 120, **{"use-resource": True})
    assert "no etcd snap is attached" in message and "nothing was changed" in message
    # another member down: stopping this one would lose quorum
    juju.exec("systemctl stop etcd", unit="etcd/2")
    try:
        message = failure(juju, "etcd/1", "snap-upgrade", 120)
        assert "stopping etcd1" in message and "would lose quorum" in message, message
        assert "nothing was changed" in message
    finally:
        juju.exec("systemctl start etcd", unit="etcd/2")
    for unit in ("etcd/1", "etcd/2"):
        assert sh(juju, unit, "systemctl is-active etcd") == "active\nrc=0"
        assert sh(juju, unit, "snap list etcd >/dev/null 2>&1").endswith("rc=1")
    assert ids(package_members(juju, "etcd/1")) == BEFORE["ids"]
    assert etcd_units(juju.status())["etcd/1"].workload_status.message == held("etcd/1")


def test_migrate_one_unit_at_a_time_under_writes(juju: jubilant.Juju) -> None:
    seen: dict[str, dict[str, Any]] = {}
    with continuous_writes(juju, "snap-upgrade-deb-to-snap"):
        # a failure after etcd.service stopped (the snap's config cannot be written) puts
        # the package's member back
        juju.exec("mkdir -p /var/snap/etcd/common/etcd.conf.yml", unit="etcd/0")
        message = failure(juju, "etcd/0", "snap-upgrade", 300)
        assert "etcd runs from the package again" in message, message
        assert sh(juju, "etcd/0", "systemctl is-active etcd") == "active\nrc=0"
        assert sh(juju, "etcd/0", "snap list etcd >/dev/null 2>&1").endswith("rc=1")
        assert ids(package_members(juju, "etcd/0")) == BEFORE["ids"]
        # the leader first: it grants the restarts of the migrated units
        leader = next(n for n, u in etcd_units(juju.status()).items() if u.leader)
        for unit in [leader] + [u for u in UNITS if u != leader]:
            seen[unit] = run(juju, unit, "snap-upgrade", 300)
            assert sh(juju, unit, "systemctl is-active etcd").endswith("rc=3")  # inactive

            def active(s: jubilant.Status, u: str = unit) -> bool:
                return etcd_units(s)[u].workload_status.current == "active"

            juju.wait(active, timeout=120)
    juju.wait(all_healthy(APP, 3), error=jubilant.any_error, timeout=300)
    for unit in UNITS:
        name = unit.replace("/", "")
        results = seen[unit]
        assert results["snap-upgrade"]["member"] == name
        assert int(results["snap-upgrade"]["member-id"], 16) == BEFORE["ids"][name]
        assert int(results["snap-upgrade"]["cluster-id"], 16) == BEFORE["cluster"]
        assert results["snap-upgrade"]["version"] == VERSION
        assert results["snap-upgrade"]["source"] == "channel 3.4/stable"
        assert results["purged"] == "etcd etcd-client etcd-server"
        backup = results["backup"]["path"]
        assert backup.startswith("/home/ubuntu/etcd_migration-"), backup
        digest = sh(juju, unit, f"stat -c '%a %U' {backup}; sha256sum {backup} | cut -d' ' -f1")
        assert digest == f"600 ubuntu\n{results['backup']['sha256sum']}\nrc=0"
        # the package is gone with its data; the snap runs the member
        assert sh(juju, unit, "dpkg-query -W etcd-server >/dev/null 2>&1").endswith("rc=1")
        assert sh(juju, unit, "test -e /var/lib/etcd || test -e /etc/default/etcd").endswith(
            "rc=1"
        )
        assert sh(juju, unit, "snap list etcd | tail -1 | awk '{print $4}'") == (
            "3.4/stable\nrc=0"
        )
        assert sh(juju, unit, "systemctl is-active snap.etcd.etcd") == "active\nrc=0"
        # the snap-upgrade path ran: this charm's install flag and the flags it raises; the
        # deb-era charm's flags are left as they were
        raised = {"etcd.snap.installed", "etcd.started", "etcd.tls.ready", "etcd.cluster.healthy"}
        now = flags_after_a_hook(juju, unit, raised)
        assert raised <= now, now
        assert DEB_ERA_FLAGS <= now, DEB_ERA_FLAGS - now
    listing = etcdctl(juju, "etcd/2", "member list")
    assert ids(listing) == BEFORE["ids"]  # the same members: no member was added or removed
    assert int(listing["header"]["cluster_id"]) == BEFORE["cluster"]
    kept = etcdctl(juju, "etcd/0", "get before/ --prefix --keys-only")
    assert kept["count"] == 50


def test_after_the_migration(juju: jubilant.Juju) -> None:
    message = failure(juju, "etcd/0", "snap-upgrade", 120)
    assert "runs from the snap on etcd/0 already; nothing to migrate" in message
    health = run(juju, "etcd/1", "health")
    assert health["cluster"]["healthy"] == "true", health
