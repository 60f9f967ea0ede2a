"""The split of a deploy's time from debug-log records (pure)."""

from __future__ import annotations

from typing import Any

from bench import timeline


def rec(
    ts: float, entity: str, message: str, module: str = "juju.worker.uniter.operation"
) -> dict[str, Any]:
    return {"ts": ts, "entity": entity, "level": "INFO", "module": module, "message": message}


def kind(name: str) -> str:
    """The operation names a relation hook by its kind, as Juju's runHook.String() does."""
    if "-relation-" in name:
        return "relation-" + name.split("-relation-", 1)[1] + " (1; unit: easyrsa/0)"
    return name


def hook(unit: str, name: str, start: float, end: float) -> list[dict[str, Any]]:
    tag = "unit-" + unit.replace("/", "-")
    return [
        rec(start, tag, f'executing operation "run {kind(name)} hook" for {unit}'),
        rec(end, tag, f'ran "{name}" hook (via explicit, bespoke hook script)'),
    ]


def say(ts: float, unit: str, message: str) -> dict[str, Any]:
    return rec(ts, "unit-" + unit.replace("/", "-"), message, f"unit.{unit}.juju-log")


RECORDS = sorted(
    hook("etcd/0", "install", 102.0, 104.0)
    + hook("etcd/1", "install", 103.0, 105.0)
    + hook("etcd/0", "certificates-relation-changed", 110.0, 113.0)
    + hook("etcd/1", "certificates-relation-changed", 111.0, 112.0)
    + hook("etcd/1", "leader-settings-changed", 120.0, 122.0)
    + hook("easyrsa/0", "install", 101.0, 140.0)
    + [
        say(103.5, "etcd/0", "installed etcd 3.5.16"),
        say(111.0, "etcd/1", "certificates:1: certificates written to /var/snap/etcd/common"),
        say(112.0, "etcd/0", "certificates:1: certificates written to /var/snap/etcd/common"),
        say(112.5, "etcd/0", "certificates:1: etcd started as member e35a77d0a961b4bf"),
        say(113.0, "etcd/0", "certificates:1: added etcd/1 as learner 9114508e87fa4670"),
        say(121.0, "etcd/1", "etcd started as member 9114508e87fa4670"),
        say(125.0, "etcd/0", "cluster:0: promoted etcd/1 (9114508e87fa4670) to a voting member"),
        # an unfinished hook (the unit's machine died) counts nowhere
        rec(130.0, "unit-etcd-1", 'executing operation "run update-status hook" for etcd/1'),
    ],
    key=lambda r: r["ts"],
)


def test_unit_of() -> None:
    assert timeline.unit_of("unit-etcd-3") == "etcd/3"
    assert timeline.unit_of("unit-etcd-client-10") == "etcd-client/10"
    assert timeline.unit_of("machine-3") is None


def test_hooks_of_pairs_start_and_end() -> None:
    ran = timeline.hooks_of(RECORDS, "etcd/1")
    assert [h[0] for h in ran] == [
        "install",
        "certificates-relation-changed",
        "leader-settings-changed",
    ]
    assert ran[2][1:] == (120.0, 122.0)


def test_deploy_split() -> None:
    split = timeline.deploy_split(RECORDS, 100.0, ["etcd/0", "etcd/1"])
    assert split["first_hook_s"] == 3.0  # etcd/1's install started last
    assert split["certificates_s"] == 11.0
    assert split["bootstrap_s"] == 12.5
    assert split["joins_s"] == 12.5 and split["per_join_s"] == 12.5
    assert split["busy_s"] == 10.0  # easyrsa's hooks are not etcd's
    zero, one = split["units"]["etcd/0"], split["units"]["etcd/1"]
    assert zero["busy_s"] == 5.0 and zero["started_s"] == 12.5
    assert zero["hooks_before_certificates"] == 1  # its certificates came inside its 2nd hook
    assert one["hooks_before_certificates"] == 1
    assert one["learner_s"] == 13.0 and one["promoted_s"] == 25.0 and one["started_s"] == 21.0
    assert one["median_hook_s"] == 2.0


def test_nothing_happened() -> None:
    split = timeline.deploy_split([], 0.0, ["etcd/0"])
    assert split["bootstrap_s"] is None and split["joins_s"] == 0.0 and split["per_join_s"] == 0.0
    assert split["units"]["etcd/0"]["busy_s"] == 0.0
