"""Subordinate applications, as Juju 3 runs them (docs/contributor/reference/
entity-lifecycle.md; state/relationunit.go ``subordinateOps`` and ``Valid``; state/relation.go
``AddRelation``; the deploy command's and the API's refusals).

First the controller's own rules on a model without machines, then a real model with the
hooklog charm as principal and a subordinate copy of it: the units it gets, where they run,
what each sees of the container-scoped relation, and how they go.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import jubilant
import pytest
import yaml

from localjuju.controller.controller import Controller, UserError
from localjuju.controller.state import Application, Machine, Unit

from .conftest import HOOKLOG, machineless_controller

PRINCIPAL_META: dict[str, Any] = {
    "name": "prin",
    "series": ["jammy"],
    "provides": {"db": {"interface": "hooklog"}},
    "requires": {"client": {"interface": "hooklog"}},
}
SUB_META: dict[str, Any] = {
    "name": "sub",
    "series": ["jammy"],
    "subordinate": True,
    "requires": {"info": {"interface": "hooklog", "scope": "container"}},
}


def write_charm(d: Path, meta: dict[str, Any]) -> Path:
    d.mkdir(parents=True)
    (d / "metadata.yaml").write_text(yaml.safe_dump(meta))
    return d


@pytest.fixture
def ctl(tmp_path: Path) -> Controller:
    """Two principal applications with two units each (no machines) and no subordinate yet;
    agents are not started (the test looks at the model's state only)."""
    c: Controller = machineless_controller(tmp_path)
    c.start_agent = lambda name: None  # type: ignore[method-assign]
    for app in ("prin", "other"):
        src = write_charm(tmp_path / "src" / app, dict(PRINCIPAL_META, name=app))
        ch, rev = c.unpack_charm(src, app)
        a = Application(name=app, charm=app, charm_dir=str(ch.path), charm_revision=rev)
        c.model.applications[app] = a
        for i in range(2):
            name = f"{app}/{i}"
            mid = f"{len(c.model.units)}"
            c.model.units[name] = Unit(name=name, machine=mid)
            a.units.append(name)
            a.next_unit = i + 1
    write_charm(tmp_path / "src" / "sub", SUB_META)
    asyncio.run(c.deploy({"charm": str(tmp_path / "src" / "sub")}))
    return c


def test_a_subordinate_is_deployed_without_units(ctl: Controller, tmp_path: Path) -> None:
    assert ctl.model.applications["sub"].units == []
    assert not any(u.app == "sub" for u in ctl.model.units.values())
    with pytest.raises(UserError, match=r"^cannot use --num-units or --to with subordinate"):
        asyncio.run(ctl.deploy({"charm": str(tmp_path / "src" / "sub"), "application": "s2",
                                "num_units": 2}))  # fmt: skip
    assert "s2" not in ctl.model.applications
    with pytest.raises(UserError) as e:
        asyncio.run(ctl.add_units("sub", 1))
    assert e.value.message == (
        'cannot add unit to application "sub": application is a subordinate'
    )


def test_a_subordinate_charm_needs_a_container_scoped_requirer(tmp_path: Path) -> None:
    c: Controller = machineless_controller(tmp_path)
    meta = dict(SUB_META, requires={"info": {"interface": "hooklog"}})
    write_charm(tmp_path / "bad", meta)
    with pytest.raises(UserError, match='subordinate charm "sub" lacks "requires" relation'):
        asyncio.run(c.deploy({"charm": str(tmp_path / "bad")}))


def test_a_relation_with_a_container_endpoint_is_container_scoped(ctl: Controller) -> None:
    ctl.integrate("prin:db", "sub:info")
    (rel,) = [r for r in ctl.model.relations.values() if r.endpoint_of("sub")]
    # prin's db is global in its metadata: the relation makes both ends container-scoped
    assert {e.scope for e in rel.endpoints} == {"container"}


def test_a_container_relation_between_principals_is_refused(
    ctl: Controller, tmp_path: Path
) -> None:
    meta = dict(PRINCIPAL_META, name="cont")
    meta["requires"] = {"client": {"interface": "hooklog", "scope": "container"}}
    write_charm(tmp_path / "src" / "cont", meta)
    ctl.start_agent = lambda name: None  # type: ignore[method-assign]
    ch, rev = ctl.unpack_charm(tmp_path / "src" / "cont", "cont")
    ctl.model.applications["cont"] = Application(
        name="cont", charm="cont", charm_dir=str(ch.path), charm_revision=rev
    )
    before = dict(ctl.model.relations)
    with pytest.raises(UserError) as e:
        ctl.integrate("prin:db", "cont:client")
    assert e.value.message == (
        'cannot add relation "cont:client prin:db": container scoped relation requires at '
        "least one subordinate application"
    )
    assert ctl.model.relations == before


def test_entering_scope_creates_one_subordinate_per_principal(ctl: Controller) -> None:
    ctl.integrate("prin:db", "sub:info")
    (rel,) = [r for r in ctl.model.relations.values() if r.endpoint_of("sub")]
    p0, p1 = ctl.model.units["prin/0"], ctl.model.units["prin/1"]
    assert ctl.may_enter_scope(rel, p0) and ctl.may_enter_scope(rel, p0)
    assert ctl.may_enter_scope(rel, p1)
    subs = {u.name: (u.principal, u.machine) for u in ctl.model.units.values() if u.app == "sub"}
    assert subs == {"sub/0": ("prin/0", p0.machine), "sub/1": ("prin/1", p1.machine)}
    assert ctl.model.applications["sub"].units == ["sub/0", "sub/1"]
    # while its subordinate is dying, a principal cannot enter again
    ctl.destroy_unit(ctl.model.units["sub/0"])
    assert not ctl.may_enter_scope(rel, p0)


def test_a_subordinate_enters_only_its_principal_s_relations(ctl: Controller) -> None:
    ctl.integrate("prin:db", "sub:info")
    ctl.integrate("other:db", "sub:info")
    rels = {r.other_app("sub"): r for r in ctl.model.relations.values() if r.endpoint_of("sub")}
    ctl.may_enter_scope(rels["prin"], ctl.model.units["prin/0"])
    sub = ctl.model.subordinates_of("prin/0")[0]
    assert ctl.may_enter_scope(rels["prin"], sub)
    assert not ctl.may_enter_scope(rels["other"], sub)


def test_a_subordinate_dies_with_its_principal_or_its_last_relation(ctl: Controller) -> None:
    ctl.integrate("prin:db", "sub:info")
    (rel,) = [r for r in ctl.model.relations.values() if r.endpoint_of("sub")]
    for p in ("prin/0", "prin/1"):
        ctl.may_enter_scope(rel, ctl.model.units[p])
    assert not ctl.doom_subordinates()
    ctl.destroy_unit(ctl.model.units["prin/0"])
    assert ctl.doom_subordinates()
    assert [u.life for u in (ctl.model.units["sub/0"], ctl.model.units["sub/1"])] == [
        "dying",
        "alive",
    ]
    ctl.remove_relation("prin", "sub")
    assert ctl.doom_subordinates()
    assert ctl.model.units["sub/1"].life == "dying"


def test_remove_unit_refuses_a_subordinate(ctl: Controller) -> None:
    ctl.integrate("prin:db", "sub:info")
    (rel,) = [r for r in ctl.model.relations.values() if r.endpoint_of("sub")]
    ctl.may_enter_scope(rel, ctl.model.units["prin/0"])
    with pytest.raises(UserError) as e:
        asyncio.run(ctl.remove_units(["sub/0"], force=False, no_wait=False))
    assert e.value.message == (
        'unit "sub/0" is a subordinate, to remove use remove-relation. Note: this will remove '
        'all units of "sub"'
    )
    assert ctl.model.units["sub/0"].life == "alive"


def test_a_principal_is_removed_after_its_subordinates(ctl: Controller) -> None:
    ctl.integrate("prin:db", "sub:info")
    (rel,) = [r for r in ctl.model.relations.values() if r.endpoint_of("sub")]
    ctl.may_enter_scope(rel, ctl.model.units["prin/0"])
    ctl.model.machines["0"] = Machine(id="0", units=["prin/0"])
    ctl.may_enter_scope(rel, ctl.model.units["prin/0"])  # again: still one subordinate
    assert [u.name for u in ctl.model.subordinates_of("prin/0")] == ["sub/0"]
    ctl.machine("0").destroy = lambda: None  # type: ignore[method-assign]
    ctl.destroy_unit(ctl.model.units["prin/0"])

    async def teardown() -> None:
        # the principal ran its remove hook: it is dead, and stays while its subordinate exists
        ctl.unit_removed("prin/0")
        assert ctl.model.units["prin/0"].life == "dead"
        assert "0" in ctl.model.machines
        ctl.unit_removed("sub/0")  # the last subordinate gone, the principal goes too
        assert "prin/0" not in ctl.model.units and "sub/0" not in ctl.model.units
        assert "0" not in ctl.model.machines

    asyncio.run(teardown())


# ---------------------------------------------------------------------- on a real model


def hook_log(juju: jubilant.Juju, unit: str) -> list[dict[str, Any]]:
    """The hooks ``unit`` ran (the machine's hook log holds its principal's too)."""
    task = juju.exec("cat /var/lib/hooklog/hooks.log", unit=unit)
    entries = [json.loads(line) for line in task.stdout.splitlines() if line.strip()]
    return [e for e in entries if e["unit"] == unit]


def sub_charm(tmp: Path) -> Path:
    """hooklog as a subordinate: ``info`` requires hooklog in container scope."""
    d = tmp / "hooklog-sub"
    shutil.copytree(HOOKLOG, d)
    meta = yaml.safe_load((d / "metadata.yaml").read_text())
    meta.update(name="hooklog-sub", subordinate=True)
    meta["requires"] = {"info": {"interface": "hooklog", "scope": "container"}}
    meta.pop("provides")
    meta.pop("resources")
    (d / "metadata.yaml").write_text(yaml.safe_dump(meta))
    return d


def subs_of(status: jubilant.Status) -> dict[str, str]:
    """subordinate unit -> principal unit, from status."""
    return {
        sub: principal for principal, u in status.apps["p"].units.items() for sub in u.subordinates
    }


@pytest.fixture(scope="module")
def model(juju: jubilant.Juju, tmp_path_factory: pytest.TempPathFactory) -> jubilant.Juju:
    juju.deploy(HOOKLOG, "p", num_units=2)
    juju.deploy(sub_charm(tmp_path_factory.mktemp("charms")), "s")
    juju.integrate("p:db", "s:info")
    juju.wait(lambda s: len(s.get_units("s")) == 2 and jubilant.all_active(s), timeout=240)
    return juju


@pytest.mark.integration
def test_each_principal_gets_a_subordinate_on_its_machine(model: jubilant.Juju) -> None:
    juju = model
    status = juju.status()
    assert status.apps["s"].subordinate_to == ["p"]
    assert status.apps["s"].units == {}
    pairs = subs_of(status)
    assert sorted(pairs.values()) == ["p/0", "p/1"]
    for sub, principal in pairs.items():
        install = hook_log(juju, sub)[0]
        assert install["hook"] == "install"
        env = install["env"]
        assert env["JUJU_PRINCIPAL_UNIT"] == principal
        assert env["JUJU_MACHINE_ID"] == status.apps["p"].units[principal].machine
        # the same machine: the principal's hook log is in the same file
        assert hook_log(juju, principal)[0]["hook"] == "install"
        assert (
            juju.exec("hostname", unit=sub).stdout == juju.exec("hostname", unit=principal).stdout
        )


@pytest.mark.integration
def test_the_container_relation_shows_only_the_container_s_units(model: jubilant.Juju) -> None:
    juju = model
    for sub, principal in subs_of(juju.status()).items():
        joined = [e for e in hook_log(juju, sub) if e["hook"] == "info-relation-joined"]
        assert [e["env"]["JUJU_REMOTE_UNIT"] for e in joined] == [principal]
        last = [e for e in hook_log(juju, sub) if e["hook"].startswith("info-relation-")][-1]
        assert last["relation_list"] == [principal]
        seen = [e for e in hook_log(juju, principal) if e["hook"] == "db-relation-joined"]
        assert [e["env"]["JUJU_REMOTE_UNIT"] for e in seen] == [sub]
        assert [e for e in hook_log(juju, principal) if e["hook"].startswith("db-relation-")][-1][
            "relation_list"
        ] == [sub]


@pytest.mark.integration
def test_a_subordinate_cannot_be_removed_or_added_directly(model: jubilant.Juju) -> None:
    juju = model
    sub = next(iter(subs_of(juju.status())))
    with pytest.raises(jubilant.CLIError) as e:
        juju.remove_unit(sub)
    assert f'unit "{sub}" is a subordinate, to remove use remove-relation' in e.value.stderr
    with pytest.raises(jubilant.CLIError) as e:
        juju.add_unit("s")
    assert "application is a subordinate" in e.value.stderr


@pytest.mark.integration
def test_a_new_principal_gets_one_and_takes_it_along(model: jubilant.Juju) -> None:
    juju = model
    juju.add_unit("p")
    juju.wait(lambda s: len(s.get_units("s")) == 3 and jubilant.all_active(s), timeout=180)
    status = juju.status()
    new = max(status.apps["p"].units, key=lambda u: int(u.split("/")[1]))
    (sub,) = [s for s, p in subs_of(status).items() if p == new]
    machine = status.apps["p"].units[new].machine
    juju.remove_unit(new)
    juju.wait(lambda s: new not in s.apps["p"].units, timeout=180)
    status = juju.status()
    assert sub not in status.get_units("s") and machine not in status.machines
    # the subordinate ran its teardown: it saw its principal depart, then stop and remove
    tail = [
        json.loads(line.split("hooklog: ", 1)[1])["hook"]
        for line in juju.debug_log(limit=1_000_000).splitlines()
        if f"unit-{sub.replace('/', '-')}:" in line and "hooklog: {" in line
    ]
    assert tail[-2:] == ["stop", "remove"]
    assert "info-relation-departed" in tail and "info-relation-broken" in tail


@pytest.mark.integration
def test_removing_the_relation_removes_the_subordinates(model: jubilant.Juju) -> None:
    juju = model
    juju.remove_relation("p:db", "s:info")
    juju.wait(lambda s: not s.get_units("s") and "info" not in s.apps["s"].relations, timeout=180)
    status = juju.status()
    assert sorted(status.apps["p"].units) == ["p/0", "p/1"]
    assert all(not u.subordinates for u in status.apps["p"].units.values())
    assert jubilant.all_active(status, "p")


def test_a_subordinate_s_removal_leaves_its_principal_and_machine(ctl: Controller) -> None:
    ctl.integrate("prin:db", "sub:info")
    (rel,) = [r for r in ctl.model.relations.values() if r.endpoint_of("sub")]
    ctl.may_enter_scope(rel, ctl.model.units["prin/0"])
    ctl.model.machines["0"] = Machine(id="0", units=["prin/0"])
    ctl.remove_relation("prin", "sub")
    ctl.doom_subordinates()

    async def teardown() -> None:
        ctl.unit_removed("sub/0")
        assert ctl.model.units["prin/0"].life == "alive"
        assert ctl.model.machines["0"].units == ["prin/0"]

    asyncio.run(teardown())
