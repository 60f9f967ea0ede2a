"""The order in which a unit agent visits its relations: Juju's uniter ranges over a Go map
(``remoteState.Relations``), so neither the lowest relation id nor any fixed order goes first.
Pure: no machines."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from localjuju.controller import resolver
from localjuju.controller.resolver import RelationSnapshot, Remote, go_range, relation_orders
from localjuju.controller.state import RelationLocal, UnitLocal


@pytest.mark.parametrize(
    "slots, draw, want",
    [
        ([10, 20], 0, [10, 20]),
        ([10, 20], 1, [20, 10]),
        # a start past the last used slot wraps around to the first
        ([10, 20], 2, [10, 20]),
        ([10, 20], 7, [10, 20]),
        ([10, 20], 9, [20, 10]),  # the draw is taken modulo the 8 slots
        ([1, 2, 3, 4], 2, [3, 4, 1, 2]),
        ([1, 2, 3, 4], 5, [1, 2, 3, 4]),
        (list(range(8)), 3, [3, 4, 5, 6, 7, 0, 1, 2]),
        ([], 4, []),
    ],
)
def test_a_small_map_is_visited_from_a_random_slot(
    slots: list[int], draw: int, want: list[int]
) -> None:
    assert go_range(slots, draw) == want


def test_a_small_map_s_first_key_is_the_first_inserted_seven_times_in_eight() -> None:
    firsts = Counter(go_range(["a", "b"], draw)[0] for draw in range(8))
    assert firsts == {"a": 7, "b": 1}


def test_a_large_map_is_visited_in_a_permutation_drawn_from_the_draw() -> None:
    keys = list(range(12))
    orders = {tuple(go_range(keys, draw)) for draw in range(20)}
    assert all(sorted(o) == keys for o in orders)
    assert len(orders) > 10
    assert go_range(keys, 5) == go_range(keys, 5)


def test_the_snapshot_copy_and_each_resolver_draw_their_own_order() -> None:
    """With two relations the second one is visited first by a resolver when the copy kept the
    watcher's order and the resolver started on slot 1 (1/8 x 7/8), or the copy swapped them
    and the resolver did not start on slot 1 (7/8 x 1/8): 14 times in 64."""
    rng = random.Random(1)
    runs = 6400
    second_first = sum(relation_orders([0, 1], rng)[1][0] == 1 for _ in range(runs))
    assert 0.17 < second_first / runs < 0.27


def _two_relations_pending() -> tuple[UnitLocal, Remote]:
    local = UnitLocal(installed=True, started=True, config_hash="c", charm_revision=0,
                      leader_settings_version=0)  # fmt: skip
    local.relations = {"0": RelationLocal(created=True), "1": RelationLocal(created=True)}
    remote = Remote(
        unit="etcd/0",
        config_hash="c",
        relations={
            0: RelationSnapshot("cluster", "etcd", True, members={"etcd/1": 1}),
            1: RelationSnapshot("certificates", "easyrsa", False, members={"easyrsa/0": 1}),
        },
    )
    return local, remote


def test_without_a_drawn_order_the_lowest_relation_id_goes_first() -> None:
    local, remote = _two_relations_pending()
    op = resolver.next_op(local, remote)
    assert op is not None and op.hook is not None
    assert op.hook.name == "cluster-relation-joined"


def test_the_drawn_order_decides_which_relation_s_hook_runs_next() -> None:
    local, remote = _two_relations_pending()
    remote.hook_order = [1, 0]
    op = resolver.next_op(local, remote)
    assert op is not None and op.hook is not None
    assert op.hook.name == "certificates-relation-joined"
    # a relation with nothing to run is passed over whatever the order
    local.relations["1"].members = {"easyrsa/0": 1}
    op = resolver.next_op(local, remote)
    assert op is not None and op.hook is not None
    assert op.hook.name == "cluster-relation-joined"


def test_the_drawn_order_decides_which_relation_is_created_first() -> None:
    local, remote = _two_relations_pending()
    local.relations = {"0": RelationLocal(), "1": RelationLocal()}
    remote.created_order = [1, 0]
    op = resolver.next_op(local, remote)
    assert op is not None and op.hook is not None
    assert op.hook.name == "certificates-relation-created"


def test_a_non_member_s_settings_are_read_afresh_in_each_hook() -> None:
    """The context factory prunes each relation cache to the members (RelationCache.Prune):
    a unit that entered scope but has not joined here is read again in the next hook."""
    from types import SimpleNamespace

    from localjuju.controller.agent import UnitAgent
    from localjuju.controller.resolver import HookInfo
    from localjuju.controller.state import Unit

    unit = Unit(name="etcd/0", machine="0")
    unit.local.relations = {"0": RelationLocal(created=True, members={"etcd/1": 3})}
    ctl = SimpleNamespace(model=SimpleNamespace(units={"etcd/0": unit}))
    agent = UnitAgent(ctl, "etcd/0")
    agent.cache = {(0, "etcd/1"): {"a": "1"}, (0, "etcd/2"): {"a": "old"}, (0, "etcd/3"): {}}
    agent.prune_cache(HookInfo("cluster-relation-changed", "relation-changed", 0, "etcd/3"))
    assert set(agent.cache) == {(0, "etcd/1"), (0, "etcd/3")}
    agent.prune_cache(None)  # an action's or juju exec's context
    assert set(agent.cache) == {(0, "etcd/1")}
    # departed: the unit is no member any more (RemoveMember), its settings read afresh
    agent.prune_cache(HookInfo("cluster-relation-departed", "relation-departed", 0, "etcd/1"))
    assert agent.cache == {}
