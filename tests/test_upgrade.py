"""Rolling channel upgrade 3.4 -> 3.5 on three units under continuous writes, and the
refusals: skipping a minor version, downgrading.

One model, tests in order; figures go to ``build/resilience-report.json`` with the others.
"""

from __future__ import annotations

import re

import jubilant
import pytest

from .conftest import (
    all_healthy,
    etcd_units,
    etcdctl,
    one_at_a_time,
    stored_backups,
    unit_addresses,
)
from .writes import continuous_writes

CLIENT = "etcd-client"

pytestmark = pytest.mark.integration

APP = "etcd"
OLD, NEW = "3.4.23", "3.5.16"


def versions(juju: jubilant.Juju) -> dict[str, str]:
    """The etcd server version each member reports (endpoint status)."""
    return {
        unit: etcdctl(juju, unit, "endpoint status")[0]["Status"]["version"]
        for unit in unit_addresses(juju.status())
    }


def tracking(juju: jubilant.Juju, unit: str) -> str:
    out = juju.exec("snap list etcd", unit=unit).stdout.splitlines()
    return out[1].split()[3]


def test_deploy_3_4(juju: jubilant.Juju, etcd_charm: str) -> None:
    juju.model_config({"update-status-hook-interval": "10s"})
    juju.deploy("easyrsa")
    juju.deploy(etcd_charm, APP, num_units=3, config={"channel": "3.4/stable"})
    juju.deploy(CLIENT)
    juju.integrate(f"{APP}:certificates", "easyrsa:client")
    juju.integrate(f"{APP}:db", f"{CLIENT}:etcd")
    juju.wait(all_healthy(APP, 3), error=jubilant.any_error, timeout=600)
    juju.wait(lambda s: s.apps[CLIENT].units[f"{CLIENT}/0"].workload_status.current == "active")
    assert set(versions(juju).values()) == {OLD}


def assert_refused(
    juju: jubilant.Juju, channel: str, reason: str, version: str, track: str
) -> None:
    """Setting ``channel`` blocks every unit with ``reason`` and changes nothing: etcd's
    version and the snap's channel stay; setting ``track`` back makes the cluster healthy."""
    juju.config(APP, {"channel": channel})
    status = juju.wait(
        lambda s: all(u.workload_status.current == "blocked" for u in etcd_units(s).values()),
        timeout=120,
    )
    for unit in etcd_units(status).values():
        assert unit.workload_status.message == f"Invalid config: {reason} (nothing was changed)"
    assert set(versions(juju).values()) == {version}
    assert {tracking(juju, u) for u in unit_addresses(status)} == {track}
    juju.config(APP, {"channel": track})
    juju.wait(all_healthy(APP, 3), error=jubilant.any_error, timeout=300)


def test_skipping_a_minor_version_is_refused(juju: jubilant.Juju) -> None:
    reason = (
        "channel '3.6/stable' skips a minor version: etcd upgrades one minor version at a "
        f"time; from {OLD} the next step is 3.5/stable"
    )
    assert_refused(juju, "3.6/stable", reason, OLD, "3.4/stable")


def test_rolling_upgrade_under_writes(juju: jubilant.Juju) -> None:
    seen: set[str] = set()
    own: dict[str, set[str]] = {}  # unit -> the positions its own upgrade status showed

    def upgraded(status: jubilant.Status) -> bool:
        for name, unit in etcd_units(status).items():
            message = unit.workload_status.message
            seen.add(message)
            m = re.match(r"Upgrading etcd (\d/3) to 3.5/stable: ", message)
            if unit.workload_status.current == "maintenance" and m:
                own.setdefault(name, set()).add(m.group(1))
        return all_healthy(APP, 3)(status)

    with continuous_writes(juju, "upgrade-3.4-3.5"):
        juju.config(APP, {"channel": "3.5/stable"})
        juju.wait(
            lambda s: any(
                "pgrading etcd" in u.workload_status.message for u in etcd_units(s).values()
            ),
            timeout=300,
        )
        juju.wait(lambda s: upgraded(s) and set(versions(juju).values()) == {NEW}, timeout=900)
    progress = sorted(m for m in seen if re.search(r"[Uu]pgrading etcd \d/3 to 3.5/stable", m))
    assert progress, seen
    units = sorted(unit_addresses(juju.status()))
    for unit in units:
        assert tracking(juju, unit) == "3.5/stable"
        # the snapshot taken before the refresh is kept in the unit's backup store, readable
        # by root only, recorded as a pre-upgrade backup of the old version
        kept = stored_backups(juju, unit, "pre-upgrade")
        assert [b["snapshot"]["etcd_version"] for b in kept] == ["3.4.23"], kept
        assert kept[0]["archive_stat"][0] == "600" and kept[0]["archive_stat"][1] > 0, kept
    # one unit at a time: each unit's snapshot..upgraded window ends before the next begins
    one_at_a_time(juju, units, "snapshot before the upgrade", "upgraded to etcd 3.5.16")
    # one count: the place the leader recorded when it granted each unit its turn (1/3, 2/3,
    # 3/3 in grant order) is the place that unit showed while it upgraded
    log = juju.cli("debug-log", "--replay", "--no-tail", "--include", APP)
    grants = re.findall(
        r"leader step: GrantUpgrade\(unit='([^']+)', progress=Progress\(position=(\d), "
        r"total=3\)\)",
        log,
    )
    granted = {unit: f"{position}/3" for unit, position in grants}
    assert sorted(granted.values()) == ["1/3", "2/3", "3/3"], grants
    assert own, seen
    for unit, positions in own.items():
        assert positions == {granted[unit]}, (unit, positions, granted)


def test_downgrade_is_refused(juju: jubilant.Juju) -> None:
    reason = (
        f"channel '3.4/stable' would downgrade etcd {NEW}; downgrades are not supported "
        "(keep 3.5/stable)"
    )
    assert_refused(juju, "3.4/stable", reason, NEW, "3.5/stable")
