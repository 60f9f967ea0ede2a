"""The install decision (:func:`etcd_charm.install.must_install`) by a table of the units an
older charm left, and :meth:`EtcdCharm.install` adopting or installing with them."""

from __future__ import annotations

from typing import Any

import pytest
from charmhelpers.core import hookenv, unitdata

from etcd_charm import charm, install, workload
from etcd_charm.install import INSTALLED, LEGACY_INSTALLED, must_install
from etcd_charm.legacy import LegacyInstall
from etcd_charm.record import KV_STARTED

#: what the deb-era charm (layer-etcd before the snap, 2017) left set on a running unit
DEB_ERA = {LEGACY_INSTALLED, "etcd.package.adjusted", "etcd.ssl.placed", "etcd.registered"}


@pytest.mark.parametrize(
    ("flags", "snap", "started", "package", "expected"),
    [
        # a new unit
        (set(), False, False, False, True),
        # this charm installed it already: the handler does not even run
        ({INSTALLED}, True, True, False, False),
        ({INSTALLED, LEGACY_INSTALLED}, False, False, True, False),
        # refreshed from the deb-era charm: the package runs, no snap: install() holds it
        (DEB_ERA, False, False, True, True),
        # ... its package install removed by hand: install() installs the snap
        (DEB_ERA, False, False, False, True),
        # ... migrated by snap-upgrade (the snap's member runs, the package may be left)
        (DEB_ERA, True, True, True, False),
        (DEB_ERA, True, True, False, False),
        # ... a snap there but no member of it and the package: install() holds the package
        (DEB_ERA, True, False, True, True),
        # refreshed from this charm's previous revision (it set etcd.installed with the snap)
        ({LEGACY_INSTALLED}, True, True, False, False),
        ({LEGACY_INSTALLED}, True, False, False, False),  # no member yet (no certificates)
        # a snap without the flag: install() finds it (and returns at once)
        (set(), True, True, False, True),
    ],
)
def test_must_install(
    flags: set[str], snap: bool, started: bool, package: bool, expected: bool
) -> None:
    assert must_install(flags, snap, started, package) is expected


def test_the_flag_is_not_the_deb_era_charms() -> None:
    assert INSTALLED != LEGACY_INSTALLED == "etcd.installed"
    assert INSTALLED not in DEB_ERA


@pytest.fixture
def unit(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """EtcdCharm on a fake unit: in-memory storage, what install() was asked to do."""
    kv = unitdata.Storage(":memory:")
    seen: dict[str, Any] = {"kv": kv, "installs": 0, "logs": [], "snap": None, "package": None}

    def fake_install(hook: Any) -> bool:
        seen["installs"] += 1
        return True

    monkeypatch.setattr(charm.unitdata, "kv", lambda: kv)
    monkeypatch.setattr(hookenv, "local_unit", lambda: "etcd/0")
    monkeypatch.setattr(hookenv, "hook_name", lambda: "upgrade-charm")
    monkeypatch.setattr(hookenv, "config", lambda: {})
    monkeypatch.setattr(hookenv, "log", lambda msg, level=None: seen["logs"].append(msg))
    monkeypatch.setattr(install, "install", fake_install)
    monkeypatch.setattr(workload, "installed_version", lambda: seen["snap"])
    monkeypatch.setattr(workload, "legacy_install", lambda: seen["package"])
    return seen


def test_a_unit_of_the_previous_revision_is_adopted(unit: dict[str, Any]) -> None:
    unit["snap"] = "3.5.16"
    unit["kv"].set(KV_STARTED, True)
    assert charm.EtcdCharm().install([LEGACY_INSTALLED]) is True
    assert unit["installs"] == 0
    assert unit["logs"] == ["etcd runs from the snap: nothing to install ('etcd.installed' kept)"]


def test_a_deb_era_unit_runs_install(unit: dict[str, Any]) -> None:
    unit["package"] = LegacyInstall.from_defaults({}, "host", "3.4.23-4")
    assert charm.EtcdCharm().install(sorted(DEB_ERA)) is True
    assert unit["installs"] == 1
    unit["snap"] = "3.4.23"  # a snap but no member of it: the package's member still runs
    assert charm.EtcdCharm().install(sorted(DEB_ERA)) is True
    assert unit["installs"] == 2


def test_a_new_unit_runs_install(unit: dict[str, Any]) -> None:
    assert charm.EtcdCharm().install([]) is True
    assert unit["installs"] == 1
