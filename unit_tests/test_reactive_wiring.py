"""reactive/etcd.py's handlers on in-memory unit storage: the flags they set and clear, and
what they ask EtcdCharm (a fake) to do."""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import charmhelpers.osplatform
import pytest
from charmhelpers.core import hookenv, unitdata

from etcd_charm import charm as charm_module
from etcd_charm import quiet
from etcd_charm.charm import Raised

ROOT = Path(__file__).resolve().parents[1]


def reactive() -> ModuleType:
    """charms.reactive, imported as on Ubuntu (charmhelpers.core.host, which it imports,
    refuses another platform at import time; nothing here calls it)."""
    real = charmhelpers.osplatform.get_platform
    charmhelpers.osplatform.get_platform = lambda: "ubuntu"
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
            module = importlib.import_module("charms.reactive")
    finally:
        charmhelpers.osplatform.get_platform = real
    return module


def get_flags() -> list[str]:
    return list(reactive().get_flags())


def set_flag(flag: str) -> None:
    reactive().set_flag(flag)


def load_handlers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reactive_etcd", ROOT / "reactive" / "etcd.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeCharm:
    calls: list[tuple[str, Any]] = []
    raised = Raised(started=False)
    installed = True

    def install(self, flags: Any) -> bool:
        FakeCharm.calls.append(("install", sorted(flags)))
        return FakeCharm.installed

    def reconcile(self, leaving: bool = False, flags: object = ()) -> Raised:
        FakeCharm.calls.append(("reconcile", leaving))
        return FakeCharm.raised


@pytest.fixture
def handlers(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setattr(unitdata, "_KV", unitdata.Storage(":memory:"))
    monkeypatch.setattr(hookenv, "local_unit", lambda: "etcd/1")
    reactive()  # before reactive/etcd.py imports it
    module = load_handlers()
    # the handlers import the charm when they run (the quiet update-status does not)
    monkeypatch.setattr(charm_module, "EtcdCharm", FakeCharm)
    FakeCharm.calls = []
    FakeCharm.raised = Raised(started=False)
    FakeCharm.installed = True
    return module


def test_install_sets_our_flag_not_the_deb_era_one(handlers: ModuleType) -> None:
    set_flag("etcd.installed")  # left by the deb-era charm
    FakeCharm.installed = False  # held: the package's member runs
    handlers.install_etcd()
    assert FakeCharm.calls == [("install", ["etcd.installed"])]
    assert get_flags() == ["etcd.installed"]
    FakeCharm.installed = True
    handlers.install_etcd()
    assert get_flags() == ["etcd.installed", "etcd.snap.installed"]


@pytest.mark.parametrize(("departing", "leaving"), [("etcd/1", True), ("etcd/2", False)])
def test_departed_sets_a_flag_reconcile_consumes(
    handlers: ModuleType, monkeypatch: pytest.MonkeyPatch, departing: str, leaving: bool
) -> None:
    monkeypatch.setattr(hookenv, "departing_unit", lambda: departing)
    handlers.departing(object())  # @hook passes the cluster endpoint
    assert ("etcd.departing" in get_flags()) is leaving
    handlers.reconcile()
    assert FakeCharm.calls == [("reconcile", leaving)]
    assert "etcd.departing" not in get_flags()


def test_reconcile_raises_started_tls_ready_and_healthy(handlers: ModuleType) -> None:
    FakeCharm.raised = Raised(started=True, tls_ready=True, healthy=True)
    handlers.reconcile()
    assert get_flags() == ["etcd.cluster.healthy", "etcd.started", "etcd.tls.ready"]
    FakeCharm.raised = Raised(started=True, tls_ready=True, healthy=False)
    handlers.reconcile()
    assert get_flags() == ["etcd.started", "etcd.tls.ready"]
    FakeCharm.raised = Raised(started=True, tls_ready=True, healthy=True)
    handlers.reconcile()
    FakeCharm.raised = Raised(started=False)  # tls and health not looked at: flags stay
    handlers.reconcile()
    assert get_flags() == ["etcd.cluster.healthy", "etcd.tls.ready"]
    FakeCharm.raised = Raised(started=False, tls_ready=False, healthy=False)
    handlers.reconcile()
    assert get_flags() == []


@pytest.mark.parametrize("stands", [True, False])
def test_a_quiet_update_status_runs_no_reconcile(
    handlers: ModuleType, monkeypatch: pytest.MonkeyPatch, stands: bool
) -> None:
    monkeypatch.setattr(hookenv, "hook_name", lambda: "update-status")
    monkeypatch.setattr(quiet, "update_status", lambda: stands)
    handlers.reconcile()
    assert FakeCharm.calls == ([] if stands else [("reconcile", False)])
    monkeypatch.setattr(hookenv, "hook_name", lambda: "config-changed")
    handlers.reconcile()  # any other hook: in full, whatever quiet would say
    assert FakeCharm.calls[-1] == ("reconcile", False)
