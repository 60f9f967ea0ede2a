"""The charm on Ubuntu 24.04 (``ubuntu@24.04``, Python 3.12): a smoke of the whole path.

easyrsa and three etcd units whose machines run 24.04's Python 3.12 (the local model binds the
host's CPython 3.12 as the machine's /usr/bin/python3; on a real controller the cloud's image
does). Every hook and action of the charm starts under that interpreter: the cluster forms
healthy, a ``db`` client writes and reads, and a snapshot taken on one unit is restored on the
cluster. The rest of the suite runs on 22.04 (tests/conftest.py, ``DEFAULT_BASE``).

On the local model the module needs CPython 3.12 for the machines (``.cache/pythons/3.12``,
recorded by scripts/setup from pyenv): without it, it skips with that reason, except under
``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import jubilant
import pytest

from .conftest import LOCAL, all_healthy, ctl, etcd_units, etcdctl, member_list, run

BASE = "ubuntu@24.04"
APP = "etcd"
CLIENT = "etcd-client"
CTL = ctl()
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def python_312() -> None:
    if not LOCAL:
        return
    from localjuju import bases  # the model's own check of the interpreter it would bind

    if bases.interpreter("3.12") is not None:
        return
    reason = "the local model has no CPython 3.12 for ubuntu@24.04 machines (.cache/pythons/3.12)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + ": CI must run the 24.04 smoke")
    pytest.skip(reason)


def count(juju: jubilant.Juju, unit: str, prefix: str) -> int:
    out = etcdctl(juju, unit, f"get --prefix {prefix} --keys-only --consistency=s")
    return int(out.get("count", 0))


def test_deploy_on_noble(juju: jubilant.Juju, etcd_charm: str) -> None:
    juju.deploy("easyrsa")  # the model's default-base: 24.04
    juju.deploy(etcd_charm, APP, num_units=3, base=BASE)
    juju.deploy(CLIENT)
    juju.integrate(f"{APP}:certificates", "easyrsa:client")
    juju.integrate(f"{APP}:db", CLIENT)
    status = juju.wait(
        lambda s: all_healthy(APP, 3)(s) and jubilant.all_active(s, CLIENT),
        error=jubilant.any_error,
        timeout=600,
    )
    app_base = status.apps[APP].base
    assert app_base is not None and (app_base.name, app_base.channel) == ("ubuntu", "24.04")
    for name, unit in etcd_units(status, APP).items():
        machine = status.machines[unit.machine]
        assert machine.base is not None and machine.base.channel == "24.04", name
        # the hooks' interpreter: their shebang's python3, which is the machine's 3.12
        out = juju.exec(
            "python3 --version; head -1 $JUJU_CHARM_DIR/hooks/update-status; "
            ". /etc/os-release; echo $VERSION_ID",
            unit=name,
        ).stdout.splitlines()
        assert re.fullmatch(r"Python 3\.12\.\d+", out[0]), out
        assert out[1:] == ["#!/usr/bin/env python3", "24.04"], out
        print(f"\n{name}: {out[0]} on ubuntu {out[2]}")
    assert len(member_list(juju, f"{APP}/0")) == 3


def test_client_writes_and_reads(juju: jubilant.Juju) -> None:
    put = run(juju, f"{CLIENT}/0", "put", key="noble", value="24.04")
    got = run(juju, f"{CLIENT}/0", "get", key="noble")
    assert (got["found"], got["value"]) == ("true", "24.04")
    assert int(got["revision"]) == int(put["revision"])
    for unit in etcd_units(juju.status(), APP):  # every member has it
        kv = etcdctl(juju, unit, "get noble --consistency=s")["kvs"]
        assert len(kv) == 1


def test_snapshot_and_restore(juju: jubilant.Juju, tmp_path: Path) -> None:
    juju.exec(
        f"for i in $(seq 1 50); do {CTL} put snap/$i value-$i >/dev/null || exit 1; done",
        unit=f"{APP}/0",
    )
    health = run(juju, f"{APP}/1", "health")
    assert health["cluster"]["summary"] == "Healthy with 3 known peers"
    results = run(juju, f"{APP}/1", "snapshot")
    assert int(results["snapshot"]["keys"]) >= 51  # snap/1..50 and the client's key
    juju.scp(f"{APP}/1:{results['snapshot']['path']}", tmp_path)
    local = tmp_path / Path(results["snapshot"]["path"]).name
    juju.exec(f"{CTL} put after/1 gone >/dev/null", unit=f"{APP}/0")
    old_id = etcdctl(juju, f"{APP}/0", "member list")["header"]["cluster_id"]
    juju.cli("attach-resource", APP, f"snapshot={local}")
    restored = run(juju, f"{APP}/leader", "restore")
    assert restored["restore"]["hash-check"] == "verified"
    assert restored["restore"]["keys"] == results["snapshot"]["keys"]
    juju.wait(all_healthy(APP, 3), error=jubilant.any_error, timeout=600, delay=2)
    ids = set()
    for unit in etcd_units(juju.status(), APP):
        ids.add(etcdctl(juju, unit, "member list")["header"]["cluster_id"])
        assert count(juju, unit, "snap/") == 50, unit
        assert count(juju, unit, "after/") == 0, unit
        assert len(member_list(juju, unit)) == 3
    assert len(ids) == 1 and old_id not in ids
    assert run(juju, f"{CLIENT}/0", "get", key="snap/7").get("value") == "value-7"
