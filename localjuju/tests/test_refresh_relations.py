"""``refresh`` refuses a charm that would break an established relation, as Juju 3 does
(state/application.go ``checkRelationsOps`` under ``SetCharm``, with juju/charm's
``Relation.ImplementedBy``): the rule on metadata alone, then the controller's refresh path
on a model without machines."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from localjuju.controller import charm as charmlib
from localjuju.controller import state
from localjuju.controller.charm import Charm
from localjuju.controller.controller import (
    Controller,
    UserError,
    endpoint_implemented_by,
    relation_broken_by,
)
from localjuju.controller.state import Application, Endpoint, Relation, Resource, Unit

from .conftest import machineless_controller

ETCD_META: dict[str, Any] = {
    "name": "etcd",
    "series": ["jammy"],
    "provides": {
        "db": {"interface": "etcd"},
        "proxy": {"interface": "etcd-proxy"},
    },
    "requires": {"certificates": {"interface": "tls-certificates"}},
    "peers": {"cluster": {"interface": "etcd"}},
    "resources": {"snapshot": {"type": "file", "filename": "snapshot.tar.gz"}},
}


def meta(**changes: Any) -> dict[str, Any]:
    """ETCD_META with top-level keys replaced (a key set to None is dropped)."""
    m = {k: dict(v) if isinstance(v, dict) else v for k, v in ETCD_META.items()}
    for k, v in changes.items():
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    return m


def charm(m: dict[str, Any]) -> Charm:
    return Charm(path=Path("/nonexistent"), meta=m)


def rel(rid: int, *eps: Endpoint) -> Relation:
    return Relation(id=rid, endpoints=list(eps))


DB = Endpoint("etcd", "db", "provider", "etcd")
CLIENT = Endpoint("kcp", "etcd", "requirer", "etcd")
CERTS = Endpoint("etcd", "certificates", "requirer", "tls-certificates")
EASYRSA = Endpoint("easyrsa", "client", "provider", "tls-certificates")
PEER = Endpoint("etcd", "cluster", "peer", "etcd")


# ---------------------------------------------------------------------- the rule, on metadata


def test_the_same_endpoints_break_nothing() -> None:
    rels = [rel(0, PEER), rel(1, DB, CLIENT), rel(2, CERTS, EASYRSA)]
    assert relation_broken_by(charm(meta()), "etcd", rels) is None


def test_a_removed_endpoint_breaks_its_relation() -> None:
    rels = [rel(0, PEER), rel(1, DB, CLIENT), rel(2, CERTS, EASYRSA)]
    new = charm(meta(provides={"proxy": {"interface": "etcd-proxy"}}))
    broken = relation_broken_by(new, "etcd", rels)
    assert broken is not None and broken.key == "kcp:etcd etcd:db"


def test_a_changed_interface_or_role_breaks_the_relation() -> None:
    other_iface = charm(meta(provides={"db": {"interface": "etcd3"}}))
    assert not endpoint_implemented_by(DB, other_iface)
    # the same name, now required: Juju looks the name up among the old role's endpoints
    other_role = charm(
        meta(provides={}, requires={"db": "etcd", "certificates": "tls-certificates"})
    )
    assert not endpoint_implemented_by(DB, other_role)
    broken = relation_broken_by(other_role, "etcd", [rel(1, DB, CLIENT)])
    assert broken is not None and broken.id == 1
    # the short form ("db: etcd") is the same endpoint as the long one
    assert endpoint_implemented_by(DB, charm(meta(provides={"db": "etcd"})))


def test_an_unused_endpoint_may_go() -> None:
    new = charm(meta(provides={"db": {"interface": "etcd"}}))  # "proxy" dropped, unrelated
    assert relation_broken_by(new, "etcd", [rel(0, PEER), rel(1, DB, CLIENT)]) is None


def test_a_peer_relation_may_go() -> None:
    new = charm(meta(peers=None))
    assert not endpoint_implemented_by(PEER, new)
    assert relation_broken_by(new, "etcd", [rel(0, PEER), rel(1, DB, CLIENT)]) is None


def test_scope_a_global_relation_cannot_become_container_scoped() -> None:
    container = charm(meta(provides={"db": {"interface": "etcd", "scope": "container"}}))
    assert not endpoint_implemented_by(DB, container)
    # a container-scoped relation stays implemented whatever the new scope
    cdb = Endpoint("etcd", "db", "provider", "etcd", "container")
    assert endpoint_implemented_by(cdb, charm(meta()))
    assert endpoint_implemented_by(cdb, container)


def test_juju_info_is_juju_s_own() -> None:
    info = Endpoint("etcd", "juju-info", "provider", "juju-info")
    assert endpoint_implemented_by(info, charm(meta()))


def test_the_first_broken_relation_by_id_is_named() -> None:
    new = charm(meta(provides={}, requires={}))
    rels = [rel(5, CERTS, EASYRSA), rel(1, DB, CLIENT)]
    broken = relation_broken_by(new, "etcd", rels)
    assert broken is not None and broken.key == "kcp:etcd etcd:db"
    # the other application's relations are not this refresh's business
    assert relation_broken_by(new, "etcd", [rel(3, CLIENT, EASYRSA)]) is None


# ---------------------------------------------------------------------- the controller's refresh


def write_charm(d: Path, m: dict[str, Any]) -> Path:
    d.mkdir(parents=True)
    (d / "metadata.yaml").write_text(yaml.safe_dump(m))
    (d / "config.yaml").write_text(yaml.safe_dump({"options": {"x": {"type": "string"}}}))
    return d


@pytest.fixture
def ctl(tmp_path: Path) -> Controller:
    """A model holding etcd (revision 0, one unit, no machine) related to kcp and easyrsa."""
    c: Controller = machineless_controller(tmp_path)
    src = write_charm(tmp_path / "src" / "etcd", meta())
    ch, rev = c.unpack_charm(src, "etcd")
    c.model.applications["etcd"] = Application(
        name="etcd", charm="etcd", charm_dir=str(ch.path), charm_revision=rev, units=["etcd/0"]
    )
    c.model.units["etcd/0"] = Unit(name="etcd/0", machine="0")
    for eps in ([PEER], [DB, CLIENT], [CERTS, EASYRSA]):
        c._add_relation(list(eps))
    return c


def refresh(c: Controller, path: Path, resources: dict[str, str] | None = None) -> int:
    return asyncio.run(c.refresh("etcd", str(path), resources or {}))


def test_refresh_is_refused_with_juju_s_message_and_nothing_changes(
    ctl: Controller, tmp_path: Path
) -> None:
    before = state.to_jsonable(ctl.model)
    blob = tmp_path / "snapshot.tar.gz"
    blob.write_text("x")
    new = write_charm(tmp_path / "src2" / "etcd", meta(requires={}))
    with pytest.raises(UserError) as e:
        refresh(ctl, new, {"snapshot": str(blob)})
    assert e.value.message == (
        'cannot upgrade application "etcd" to charm "local:etcd-1": '
        'would break relation "etcd:certificates easyrsa:client"'
    )
    after = state.to_jsonable(ctl.model)
    # the revision stays taken, as Juju's uploaded charm keeps its revision; nothing else moves
    assert after.pop("charm_revisions") == {"etcd": 1}
    before.pop("charm_revisions")
    assert after == before
    assert ctl.model.applications["etcd"].resources == {}
    assert not (ctl.dir / "charms" / "etcd-1").exists()
    assert (ctl.dir / "charms" / "etcd-0").is_dir()
    # the saved state has it too
    assert state.load(ctl.dir / "state.json").charm_revisions == {"etcd": 1}


def test_a_compatible_refresh_still_goes_through(ctl: Controller, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="would break relation"):
        refresh(ctl, write_charm(tmp_path / "a" / "etcd", meta(provides={})))
    # dropping the peer endpoint and an unrelated one is allowed
    ok = write_charm(tmp_path / "b" / "etcd", meta(peers=None, provides={"db": "etcd"}))
    assert refresh(ctl, ok) == 2
    app = ctl.model.applications["etcd"]
    assert app.charm_revision == 2 and Path(app.charm_dir) == ctl.dir / "charms" / "etcd-2"
    assert "cluster" not in ctl.charm("etcd").endpoints


def test_a_resource_only_refresh_is_not_checked(ctl: Controller, tmp_path: Path) -> None:
    blob = tmp_path / "snapshot.tar.gz"
    blob.write_text("x")
    assert asyncio.run(ctl.refresh("etcd", None, {"snapshot": str(blob)})) == 1
    assert isinstance(ctl.model.applications["etcd"].resources["snapshot"], Resource)


def test_the_charm_reader_agrees_with_the_rule(tmp_path: Path) -> None:
    """The endpoints read from a real metadata.yaml (short and long forms) drive the rule."""
    d = write_charm(tmp_path / "c", meta(provides={"db": "etcd"}))
    ch = charmlib.read_charm(d)
    assert endpoint_implemented_by(DB, ch)
    assert not endpoint_implemented_by(Endpoint("etcd", "proxy", "provider", "etcd-proxy"), ch)
