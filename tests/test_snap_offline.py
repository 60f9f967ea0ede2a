"""The snap store as it may really be: ``auto`` on a store whose etcd has no 3.5 track, a
channel the store lacks, and an air-gapped site where etcd comes from the ``etcd`` and
``core`` resources (the base first; without it the unit says which base to attach), a newer
etcd snap attached and installed unit by unit with the install action, then back to the
store when it is reachable again (``snap refresh --amend``).

One model, tests in order. The store is shaped with the local model's own commands (a track
removed, the store made unreachable): on a real controller these tests are skipped.
"""

from __future__ import annotations

import jubilant
import pytest

from localjuju.paths import store_dir
from localjuju.store import base_snap_path, load_store

from .conftest import LOCAL, all_healthy, ctl, etcd_units, etcdctl, run
from .writes import continuous_writes

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not LOCAL, reason="shapes the local model's snap store"),
]

APP, OFFLINE, CLIENT = "etcd", "etcd-offline", "etcd-client"


def snap_list(juju: jubilant.Juju, unit: str) -> dict[str, list[str]]:
    """``snap list`` on a unit: name -> Version Rev Tracking Publisher Notes."""
    rows = juju.exec("snap list", unit=unit).stdout.splitlines()[1:]
    return {r.split()[0]: r.split()[1:] for r in rows}


def etcd_snap_file(revision: int) -> str:
    store = load_store(str(store_dir()))
    entry = store.snaps["etcd"].revisions[revision]
    return str(store_dir() / "snaps" / entry.file)


def offline_units(juju: jubilant.Juju) -> list[str]:
    return sorted(etcd_units(juju.status(), OFFLINE))


def test_auto_on_a_store_without_the_3_5_track(juju: jubilant.Juju, etcd_charm: str) -> None:
    juju.cli("store", "remove-track", "etcd", "3.5", include_model=True)
    juju.model_config({"update-status-hook-interval": "10s"})
    juju.deploy("easyrsa")
    juju.deploy(etcd_charm, APP)
    juju.integrate(f"{APP}:certificates", "easyrsa:client")
    juju.wait(all_healthy(APP, 1), error=jubilant.any_error, timeout=600)
    etcd = snap_list(juju, f"{APP}/0")["etcd"]
    assert etcd[:3] == ["3.4.23", "423", "3.4/stable"], etcd
    log = juju.cli("debug-log", "--replay", "--no-tail", "--include", f"{APP}/0")
    assert "channel auto: 3.4/stable, the newest track the store offers" in log


def test_a_channel_the_store_lacks_blocks_and_changes_nothing(juju: jubilant.Juju) -> None:
    juju.config(APP, {"channel": "3.5/stable"})
    status = juju.wait(
        lambda s: etcd_units(s, APP)[f"{APP}/0"].workload_status.current == "blocked",
        timeout=120,
    )
    message = etcd_units(status, APP)[f"{APP}/0"].workload_status.message
    assert message == (
        "Invalid config: channel '3.5/stable' is not in the snap store (etcd there: "
        "latest/stable, 3.4/stable); choose one of those (nothing was changed)"
    )
    assert snap_list(juju, f"{APP}/0")["etcd"][:3] == ["3.4.23", "423", "3.4/stable"]
    juju.config(APP, reset=["channel"])
    juju.wait(all_healthy(APP, 1), error=jubilant.any_error, timeout=300)


def test_air_gapped_install_names_the_base_then_takes_it(
    juju: jubilant.Juju, etcd_charm: str
) -> None:
    juju.model_config({"localjuju-snap-store-reachable": "false"})
    juju.deploy(etcd_charm, OFFLINE, num_units=3, resources={"etcd": etcd_snap_file(516)})
    juju.integrate(f"{OFFLINE}:certificates", "easyrsa:client")
    needs = (
        "etcd's snap needs its base core18, which the store cannot give: attach it as the "
        "core resource (juju attach-resource etcd core=./core18.snap)"
    )
    status = juju.wait(
        lambda s: len(etcd_units(s, OFFLINE)) == 3
        and all(u.workload_status.message == needs for u in etcd_units(s, OFFLINE).values()),
        timeout=300,
    )
    assert {u.workload_status.current for u in etcd_units(status, OFFLINE).values()} == {"blocked"}
    assert "etcd" not in snap_list(juju, f"{OFFLINE}/0")
    juju.cli("attach-resource", OFFLINE, f"core={base_snap_path(str(store_dir()), 'core18')}")
    juju.deploy(CLIENT)
    juju.integrate(f"{OFFLINE}:db", f"{CLIENT}:etcd")
    juju.wait(all_healthy(OFFLINE, 3), error=jubilant.any_error, timeout=600)
    juju.wait(lambda s: s.apps[CLIENT].units[f"{CLIENT}/0"].workload_status.current == "active")
    for unit in offline_units(juju):
        snaps = snap_list(juju, unit)
        assert snaps["etcd"][:3] == ["3.5.16", "x1", "-"], snaps
        assert "core18" in snaps
        assert "held" in snaps["etcd"][4].split(",")


def test_a_newer_snap_attached_is_installed_unit_by_unit(juju: jubilant.Juju) -> None:
    units = offline_units(juju)
    ids = {m["ID"] for m in etcdctl(juju, units[0], "member list")["members"]}
    juju.exec(f"{ctl()} put before-install kept", unit=units[0])
    juju.cli("attach-resource", OFFLINE, f"etcd={etcd_snap_file(530)}")
    with continuous_writes(juju, "install-action-3.5.16-3.5.30"):
        install_one_by_one(juju, units)
    juju.wait(all_healthy(OFFLINE, 3), error=jubilant.any_error, timeout=300)
    assert {m["ID"] for m in etcdctl(juju, units[0], "member list")["members"]} == ids
    assert etcdctl(juju, units[2], "get before-install")["kvs"]  # the data is kept
    again = run(juju, units[0], "install")
    assert again["output"].endswith("is installed already"), again


def install_one_by_one(juju: jubilant.Juju, units: list[str]) -> None:
    for n, unit in enumerate(units):
        results = run(juju, unit, "install")
        assert results["install"]["version"] == "3.5.30", results
        assert results["install"]["previous-version"] == "3.5.16"
        assert results["output"].startswith(f"{unit} runs etcd 3.5.30 from the attached snap")
        # one unit at a time: the others still run 3.5.16, the cluster is whole
        versions = [
            r["Status"]["version"] for r in etcdctl(juju, unit, "endpoint status --cluster")
        ]
        assert sorted(versions) == sorted(["3.5.30"] * (n + 1) + ["3.5.16"] * (2 - n))
        assert snap_list(juju, unit)["etcd"][:2] == ["3.5.30", "x2"]


def test_a_unit_from_a_file_goes_back_to_the_store(juju: jubilant.Juju) -> None:
    # unreachable: the channel cannot be checked, nothing changes
    juju.config(OFFLINE, {"channel": "3.5/stable"})
    status = juju.wait(
        lambda s: etcd_units(s, OFFLINE)[f"{OFFLINE}/0"].workload_status.current == "blocked",
        timeout=120,
    )
    message = etcd_units(status, OFFLINE)[f"{OFFLINE}/0"].workload_status.message
    assert message.startswith(
        "Invalid config: channel '3.5/stable' cannot be checked: the snap store does not answer"
    ), message
    assert snap_list(juju, f"{OFFLINE}/0")["etcd"][:3] == ["3.5.30", "x2", "-"]
    # reachable again, 3.5/stable with 3.5.16 only: older than what runs, refused
    juju.cli("store", "reset", "etcd", include_model=True)
    juju.model_config({"localjuju-snap-store-reachable": "true"})
    older = (
        "Invalid config: channel '3.5/stable' has etcd 3.5.16, older than the 3.5.30 "
        "installed: etcd does not downgrade (nothing was changed)"
    )
    juju.wait(
        lambda s: all(u.workload_status.message == older for u in etcd_units(s, OFFLINE).values()),
        timeout=300,
    )
    # 3.5.30 released there: every unit moves to the channel, one at a time (--amend)
    juju.cli("store", "release", "etcd", "530", "3.5/stable", include_model=True)
    juju.wait(
        lambda s: all_healthy(OFFLINE, 3)(s)
        and all(snap_list(juju, u)["etcd"][2] == "3.5/stable" for u in offline_units(juju)),
        timeout=600,
        delay=2,
    )
    for unit in offline_units(juju):
        assert snap_list(juju, unit)["etcd"][:3] == ["3.5.30", "530", "3.5/stable"]
