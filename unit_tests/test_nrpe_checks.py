"""The shell of the nrpe-external-master relation (lib/etcd_charm/nrpe_checks.py) with
charm-helpers' real NRPE (0.20.24) over fake hook tools, a fake systemctl and a tmp tree:
what it writes and sets on the relation, that it writes only when something changed, and that
the relation's end removes everything it made."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from charmhelpers.core import hookenv

from etcd_charm import check_etcd, nagios, nrpe_checks, workload
from etcd_charm import etcd_conf as C
from etcd_charm.context import Hook
from etcd_charm.nagios_collect import Seen
from etcd_charm.record import Record
from etcd_charm.settings import parse_settings

from .fixtures import charmhelpers_nrpe, config_defaults
from .test_membership import FakeKV

RID = "nrpe-external-master:7"
SEEN = Seen(started=False, reason="Waiting for certificates")


class Model:
    """The unit's side of Juju and the machine: relations, config, systemctl calls."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.hook = "nrpe-external-master-relation-changed"
        self.rids = [RID]
        self.remote = {"nagios_hostname": "juju-etcd-0", "nagios_host_context": "juju"}
        self.mine: dict[str, dict[str, Any]] = {}  # rid -> this unit's bucket
        self.config = config_defaults()
        self.systemctl: list[tuple[str, ...]] = []
        self.restarts: list[str] = []  # charm-helpers' host.service("restart", ...)
        self.nagios_user = True
        self.logs: list[str] = []

    # hook tools, as charm-helpers' nrpe module and nrpe_checks call them
    def relation_ids(self, name: str | None = None) -> list[str]:
        return list(self.rids) if name == nagios.RELATION else []

    def relation_set(
        self,
        relation_id: str | None = None,
        relation_settings: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        assert relation_id in self.rids, relation_id
        self.mine.setdefault(relation_id, {}).update(
            {k: str(v) for k, v in {**(relation_settings or {}), **kwargs}.items()}
        )

    def relation_get(
        self, attribute: str | None = None, unit: str | None = None, rid: str | None = None
    ) -> dict[str, Any]:
        assert unit == "etcd/0" and rid is not None
        return dict(self.mine.get(rid, {}))

    def relations_of_type(self, name: str | None = None) -> list[dict[str, Any]]:
        if name != nagios.RELATION:
            return []
        return [{**self.remote, "__unit__": "nrpe/0", "__relid__": r} for r in self.rids]

    def service(self, action: str, name: str) -> bool:
        self.restarts.append(f"{action} {name}")
        return True


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Model:
    m = Model(tmp_path)
    nrpe = charmhelpers_nrpe()
    for name in ("relation_ids", "relation_set", "relation_get", "relations_of_type"):
        monkeypatch.setattr(nrpe, name, getattr(m, name))
    monkeypatch.setattr(nrpe, "config", lambda: m.config)
    monkeypatch.setattr(nrpe, "local_unit", lambda: "etcd/0")
    monkeypatch.setattr(nrpe, "hook_name", lambda: m.hook)
    monkeypatch.setattr(nrpe, "log", lambda msg, *a: m.logs.append(str(msg)))
    monkeypatch.setattr(nrpe, "service", m.service)
    users = SimpleNamespace(getpwnam=lambda n: user(m, n), getgrnam=lambda n: user(m, n))
    monkeypatch.setattr(nrpe, "pwd", users)
    monkeypatch.setattr(nrpe, "grp", users)
    monkeypatch.setattr(nrpe_checks, "pwd", users)
    monkeypatch.setattr(nrpe_checks, "grp", users)
    for attr, sub in (("nrpe_confdir", "nrpe.d"), ("nagios_exportdir", "export"),
                      ("nagios_logdir", "log")):  # fmt: skip
        (tmp_path / sub).mkdir()
        monkeypatch.setattr(nrpe.NRPE, attr, str(tmp_path / sub))
    monkeypatch.setattr(hookenv, "relation_ids", m.relation_ids)
    monkeypatch.setattr(hookenv, "hook_name", lambda: m.hook)
    monkeypatch.setattr(hookenv, "charm_dir", lambda: "/var/lib/juju/agents/unit-etcd-0/charm")
    monkeypatch.setattr(hookenv, "log", lambda msg, *a: m.logs.append(str(msg)))
    monkeypatch.setattr(workload, "systemctl", lambda *args: m.systemctl.append(args))
    for name in ("CONF_PATH", "SERVER_CERT_PATH"):  # nothing placed: the collector asks nothing
        monkeypatch.setattr(C, name, str(tmp_path / name.lower()))
    return m


def user(m: Model, name: str) -> Any:
    if not m.nagios_user or name != "nagios":
        raise KeyError(name)
    return SimpleNamespace(pw_uid=os.getuid(), gr_gid=os.getgid())


@pytest.fixture
def paths(tmp_path: Path) -> nrpe_checks.Paths:
    legacy = tuple(str(tmp_path / "legacy" / n) for n in ("cron", "check_etcd-alarms.py", "txt"))
    return nrpe_checks.Paths(
        plugin=str(tmp_path / "plugins" / "check_etcd.py"),
        nrpe_confdir=str(tmp_path / "nrpe.d"),
        unit_dir=str(tmp_path / "systemd"),
        status=str(tmp_path / "nagios" / "etcd-status.json"),
        legacy=legacy,
    )


def hook(model: Model, kv: FakeKV) -> Hook:
    settings, errors = parse_settings(model.config)
    return Hook("etcd/0", model.hook, Record(kv), model.config, settings, errors)


def run(model: Model, kv: FakeKV, paths: nrpe_checks.Paths) -> None:
    h = hook(model, kv)
    nrpe_checks.reconcile(h, h.settings, SEEN, paths)


def cfgs(model: Model) -> dict[str, str]:
    confdir = model.tmp / "nrpe.d"
    return {p.name: p.read_text() for p in sorted(confdir.iterdir())}


def monitors(model: Model) -> dict[str, Any]:
    return dict(yaml.safe_load(model.mine[RID]["monitors"])["monitors"]["remote"]["nrpe"])


def test_the_checks_are_registered(model: Model, paths: nrpe_checks.Paths) -> None:
    kv = FakeKV()
    run(model, kv, paths)
    plugin = paths.plugin
    assert cfgs(model) == {
        f"check_{name}.cfg": f"# check {name}\n"
        "# The following header was added automatically by juju\n"
        "# Modifying it will affect nagios monitoring and alerting\n"
        "# servicegroups: juju\n"
        f"command[check_{name}]={plugin} {args}\n"
        for name, args in (
            ("etcd-alarms", "alarms"),
            ("etcd-backup", "backup"),
            ("etcd-cert", "cert -w 30 -c 7"),
            ("etcd-dbsize", "dbsize -w 80 -c 90"),
            ("etcd-health", "health"),
            ("snap.etcd.etcd", "service"),
        )
    }
    assert monitors(model) == {n: {"command": f"check_{n}"} for n in nagios.SHORTNAMES}
    assert model.mine[RID]["primary"] == "False"
    exported = sorted(p.name for p in (model.tmp / "export").iterdir())
    assert exported == sorted(f"service__juju-etcd-0_check_{n}.cfg" for n in nagios.SHORTNAMES)
    assert (
        "host_name                       juju-etcd-0"
        in (model.tmp / "export" / "service__juju-etcd-0_check_etcd-health.cfg").read_text()
    )
    assert model.restarts == ["restart nagios-nrpe-server"]
    # the plugin (this module's source, executable), the collector, the first record
    assert Path(plugin).read_text() == Path(check_etcd.__file__).read_text()
    assert stat.S_IMODE(os.stat(plugin).st_mode) == 0o755
    assert sorted(os.listdir(paths.unit_dir)) == [
        "etcd-nagios-collect.service",
        "etcd-nagios-collect.timer",
    ]
    assert model.systemctl == [
        ("daemon-reload",),
        ("enable", "etcd-nagios-collect.timer"),
        ("restart", "etcd-nagios-collect.timer"),
    ]
    assert "reason" in Path(paths.status).read_text()
    assert Record(kv).nrpe_hash


def test_nothing_is_rewritten_when_nothing_changed(model: Model, paths: nrpe_checks.Paths) -> None:
    kv = FakeKV()
    run(model, kv, paths)
    model.restarts.clear()
    model.systemctl.clear()
    before = {n: os.stat(model.tmp / "nrpe.d" / n).st_mtime_ns for n in cfgs(model)}
    model.mine[RID]["monitors"] = "sentinel"  # would be replaced by a write
    model.hook = "update-status"
    run(model, kv, paths)
    run(model, kv, paths)
    assert model.restarts == [] and model.systemctl == []
    assert model.mine[RID]["monitors"] == "sentinel"
    assert {n: os.stat(model.tmp / "nrpe.d" / n).st_mtime_ns for n in cfgs(model)} == before


def test_a_change_rewrites_and_restarts_nrpe_even_in_update_status(
    model: Model, paths: nrpe_checks.Paths
) -> None:
    kv = FakeKV()
    run(model, kv, paths)
    model.restarts.clear()
    model.hook = "update-status"
    model.config["nagios_servicegroups"] = "etcd,k8s"
    run(model, kv, paths)
    assert model.restarts == []  # charm-helpers does not restart in update-status...
    assert ("restart", "nagios-nrpe-server") in model.systemctl  # ...so the shell does
    assert "# servicegroups: etcd,k8s\n" in cfgs(model)["check_etcd-health.cfg"]


def test_a_new_nagios_hostname_rewrites(model: Model, paths: nrpe_checks.Paths) -> None:
    kv = FakeKV()
    model.remote = {}  # the subordinate has not said its host name yet
    run(model, kv, paths)
    assert "service__juju-etcd-0_check_etcd-health.cfg" in os.listdir(model.tmp / "export")
    model.remote = {"nagios_hostname": "prod-etcd-0", "nagios_host_context": "prod"}
    run(model, kv, paths)
    exported = os.listdir(model.tmp / "export")
    assert "service__prod-etcd-0_check_etcd-health.cfg" in exported
    assert "service__juju-etcd-0_check_etcd-health.cfg" not in exported
    assert (
        "process check {prod:etcd/0}"
        in (model.tmp / "export" / "service__prod-etcd-0_check_snap.etcd.etcd.cfg").read_text()
    )


@pytest.mark.parametrize("missing", ["user", "confdir"])
def test_nothing_is_registered_without_nagios(
    model: Model, paths: nrpe_checks.Paths, missing: str
) -> None:
    if missing == "user":
        model.nagios_user = False
    else:
        (model.tmp / "nrpe.d").rmdir()
    kv = FakeKV()
    run(model, kv, paths)
    assert not Record(kv).nrpe_hash
    assert not os.path.exists(paths.plugin) and not os.path.exists(paths.unit_dir)
    assert model.mine == {} and model.restarts == [] and model.systemctl == []
    assert any(m.startswith("Nagios checks not registered yet: ") for m in model.logs)


def test_invalid_config_keeps_what_is_registered(model: Model, paths: nrpe_checks.Paths) -> None:
    kv = FakeKV()
    model.config["port"] = "not-a-port"
    run(model, kv, paths)
    assert not Record(kv).nrpe_hash and model.mine == {}


def test_the_relation_s_end_removes_everything(model: Model, paths: nrpe_checks.Paths) -> None:
    kv = FakeKV()
    run(model, kv, paths)
    model.hook = "nrpe-external-master-relation-broken"
    model.rids = []  # relation-ids no longer lists it in its broken hook
    model.systemctl.clear()
    model.restarts.clear()
    run(model, kv, paths)
    assert cfgs(model) == {}
    assert os.listdir(model.tmp / "export") == []
    assert os.listdir(paths.unit_dir) == []
    assert not os.path.exists(paths.plugin) and not os.path.exists(paths.status)
    assert model.systemctl == [
        ("restart", "nagios-nrpe-server"),
        ("disable", "--now", "etcd-nagios-collect.timer"),
        ("daemon-reload",),
    ]
    assert not Record(kv).nrpe_hash
    model.systemctl.clear()
    run(model, kv, paths)  # and again: nothing left to do
    assert model.systemctl == []


def test_layer_etcd_s_alarms_check_is_removed(model: Model, paths: nrpe_checks.Paths) -> None:
    for path in paths.legacy:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text("old\n")
    model.rids = []
    run(model, FakeKV(), paths)
    assert not any(os.path.exists(p) for p in paths.legacy)
    assert nagios.LEGACY_FILES == (
        "/etc/cron.d/check_etcd-alarms",
        "/usr/lib/nagios/plugins/check_etcd-alarms.py",
        "/var/lib/nagios/etcd-alarm-list.txt",
    )


def test_every_reconcile_ends_with_the_nagios_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Also after an early return (invalid config, a unit that left): then the status
    says why there is no member; after a full one, what the status saw is passed on."""
    from etcd_charm import charm
    from etcd_charm.status import Status

    passed: list[tuple[Any, Seen]] = []
    monkeypatch.setattr(nrpe_checks, "reconcile", lambda h, s, seen: passed.append((s, seen)))
    etcd = object.__new__(charm.EtcdCharm)
    etcd.hook = Hook("etcd/0", "config-changed", Record(FakeKV()), {}, None, ["port=x"])
    etcd.hook.status = Status("blocked", "port=x is not an integer")

    def early(self: Any, leaving: bool, flags: Any) -> charm.Raised:
        return charm.Raised(started=False)

    monkeypatch.setattr(charm.EtcdCharm, "_reconcile", early)
    assert etcd.reconcile() == charm.Raised(started=False)
    assert passed == [(None, Seen(started=False, reason="port=x is not an integer"))]

    seen = Seen(started=True, asked=True, error="context deadline exceeded")

    def full(self: Any, leaving: bool, flags: Any) -> charm.Raised:
        self.seen = seen
        return charm.Raised(started=True)

    monkeypatch.setattr(charm.EtcdCharm, "_reconcile", full)
    etcd.reconcile()
    assert passed[-1] == (None, seen)
