"""Availability under operator actions, from the continuous-writes checker of the tests
(``tests/writes.py``: a client that writes through what ``db`` gives it and fails over).

One 3-unit cluster (3.4/stable, so that it can be upgraded) with the built-in etcd-client on
``db``; each operation runs under its own writer: add-unit, removal of the raft leader's unit,
a config change that restarts every member, the rolling channel upgrade to 3.5/stable, and a
restore from a snapshot. For each: failed writes, p99 latency, the longest gap without an
acknowledgement, and a timeline (each acknowledgement's latency, the operation's steps as the
units' status messages changed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import jubilant

from tests.writes import ContinuousWrites, db_credentials

from .common import CHARM, UNIT_ETCDCTL, healthy_with, log

CLIENT = "etcd-client"
DEADLINE = 900.0


class Steps:
    """The units' status messages over time (polled while waiting): the operation's steps."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.seen: dict[str, str] = {}
        self.events: list[tuple[float, str, str]] = []

    def watch(self, ready: Callable[[jubilant.Status], bool]) -> Callable[[jubilant.Status], bool]:
        def predicate(status: jubilant.Status) -> bool:
            now = time.monotonic() - self.t0
            units = status.apps["etcd"].units if "etcd" in status.apps else {}
            for name, unit in units.items():
                message = f"{unit.workload_status.current}: {unit.workload_status.message}"
                if self.seen.get(name) != message:
                    self.seen[name] = message
                    self.events.append((round(now, 2), name, message))
            for gone in set(self.seen) - set(units):
                self.events.append((round(now, 2), gone, "removed"))
                del self.seen[gone]
            return ready(status)

        return predicate


def raft_leader_unit(juju: jubilant.Juju) -> str:
    units = sorted(juju.status().apps["etcd"].units)
    for unit in units:
        out = juju.exec(f"{UNIT_ETCDCTL} -w json endpoint status", unit=unit).stdout
        status = json.loads(out)[0]["Status"]
        if status["leader"] == status["header"]["member_id"]:
            return unit
    return units[0]


def measure(
    juju: jubilant.Juju,
    name: str,
    operate: Callable[[], object],
    done: Callable[[jubilant.Status], bool],
    verify: bool = True,
) -> dict[str, Any]:
    """Writes start, ``operate()`` runs, the status is polled until ``done``, writes stop."""
    creds = db_credentials(juju, f"{CLIENT}/0")
    writes = ContinuousWrites(creds, f"bench/{name}").start()
    # beside it, a client given every endpoint at once (etcdctl --endpoints=a,b,c: the
    # balancer of etcd's client library), at a slower pace: what the cluster itself kept
    # answering while the per-endpoint writer waited on a member that was down
    balanced = ContinuousWrites(creds, f"bench/{name}-balanced", interval=0.05, balanced=True)
    balanced.start()
    writes.wait_for_acks(20)
    balanced.wait_for_acks(5)
    t_op = time.monotonic()
    steps = Steps(writes.started_at)
    steps.events.append((round(t_op - writes.started_at, 2), "operator", name))
    operate()
    juju.wait(steps.watch(done), error=jubilant.any_error, timeout=DEADLINE, delay=0.5)
    t_done = time.monotonic()
    steps.events.append((round(t_done - writes.started_at, 2), "operator", "done"))
    writes.wait_for_acks(20)
    after = db_credentials(juju, f"{CLIENT}/0")
    report = writes.stop(verify_with=after)
    log(f"{name}: {report.summary()}")
    other = balanced.stop(verify_with=after)
    log(f"{name} (one client, every endpoint): {other.summary()}")
    gap = gap_breakdown(writes.started_at, writes.ack_times, writes.failures)
    other_gap = gap_breakdown(balanced.started_at, balanced.ack_times, balanced.failures)
    return {
        "operation_s": round(t_done - t_op, 1),
        "acknowledged": report.acknowledged,
        "failed_writes": report.failed,
        "retried_writes": report.retried,
        "lost": len(report.lost) if verify else None,
        "p50_ms": round(report.p50_ms, 1),
        "p99_ms": round(report.p99_ms, 1),
        "longest_gap_ms": round(report.longest_gap_ms),
        "timeline": [
            (round(t - writes.started_at, 3), round(lat * 1000, 1))
            for t, lat in zip(writes.ack_times, writes.latencies, strict=False)
        ],
        # each failed request (the first 100): started (s from the start), took (ms),
        # endpoint, error
        "failures": [
            (round(t - writes.started_at, 3), round(took * 1000, 1), endpoint, error)
            for t, took, endpoint, error in writes.failures[:100]
        ],
        "gap": {**gap, "other_acks": acks_in_gap(writes.started_at, gap, balanced.ack_times)},
        "balanced": {
            "acknowledged": other.acknowledged,
            "failed_writes": other.failed,
            "lost": len(other.lost) if verify else None,
            "longest_gap_ms": round(other.longest_gap_ms),
            "gap": {
                **other_gap,
                "other_acks": acks_in_gap(balanced.started_at, other_gap, writes.ack_times),
            },
        },
        "steps": steps.events,
    }


def gap_breakdown(
    start: float, acks: list[float], failures: list[tuple[float, float, int, str]]
) -> dict[str, Any]:
    """Where the longest time without an acknowledgement went: the failed requests inside
    it (each one's time is the client's: a request that waits for its timeout costs all of
    it), and the rest (the cluster answered nothing to a request sent at once)."""
    points = [start, *acks]
    if len(points) < 2:
        return {}
    i = max(range(1, len(points)), key=lambda k: points[k] - points[k - 1])
    a, b = points[i - 1], points[i]
    inside = [(t, took, e, err) for t, took, e, err in failures if a <= t < b]
    waited = sum(took for _, took, _, _ in inside)
    return {
        "from_s": round(a - start, 3),
        "ms": round((b - a) * 1000),
        "failed_requests": len(inside),
        "failed_requests_ms": round(waited * 1000),
        "longest_failed_ms": round(max((took for _, took, _, _ in inside), default=0.0) * 1000),
        "errors": sorted({err.split(":")[0][:60] for _, _, _, err in inside})[:4],
        "failures": [  # the first 10
            (round(t - start, 3), round(took * 1000), e, err[:80])
            for t, took, e, err in inside[:10]
        ],
    }


def acks_in_gap(start: float, gap: dict[str, Any], other_acks: list[float]) -> int | None:
    """How many writes the other client had acknowledged inside this client's longest gap
    (``gap`` from :func:`gap_breakdown` of a writer that started at ``start``): any, and the
    cluster was answering while this client waited."""
    if not gap:
        return None
    a = start + gap["from_s"]
    b = a + gap["ms"] / 1000
    return sum(1 for t in other_acks if a < t < b)


def scenarios(juju: jubilant.Juju) -> dict[str, Any]:
    """Deploy the cluster, then each operation under writes (in this order)."""
    juju.model_config({"update-status-hook-interval": "30s"})
    juju.deploy("easyrsa")
    juju.deploy(str(CHARM), "etcd", num_units=3, config={"channel": "3.4/stable"})
    juju.deploy(CLIENT)
    juju.integrate("etcd:certificates", "easyrsa:client")
    juju.integrate("etcd:db", f"{CLIENT}:etcd")
    juju.wait(healthy_with(3), error=jubilant.any_error, timeout=DEADLINE)
    juju.wait(lambda s: s.apps[CLIENT].units[f"{CLIENT}/0"].workload_status.current == "active")
    out: dict[str, Any] = {}
    out["add-unit"] = measure(juju, "add-unit", lambda: juju.add_unit("etcd"), healthy_with(4))
    leader = raft_leader_unit(juju)
    out["remove-raft-leader"] = measure(
        juju,
        "remove-raft-leader",
        lambda: juju.remove_unit(leader),
        lambda s: leader not in s.apps["etcd"].units and healthy_with(3)(s),
    )
    out["config-restart"] = measure(
        juju,
        "config-restart",
        lambda: juju.config("etcd", {"heartbeat_interval": 150, "election_timeout": 1500}),
        lambda s: healthy_with(3)(s) and _conf_has(juju, "heartbeat-interval: 150"),
    )
    out["upgrade-3.4-3.5"] = measure(
        juju,
        "upgrade-3.4-3.5",
        lambda: juju.config("etcd", {"channel": "3.5/stable"}),
        lambda s: healthy_with(3)(s) and _versions(juju) == {"3.5.16"},
    )
    leader_unit = next(n for n, u in juju.status().apps["etcd"].units.items() if u.leader)
    task = juju.run(leader_unit, "snapshot", {"target": "/home/ubuntu/bench"})
    archive = task.results["snapshot"]["path"]
    out["restore"] = measure(
        juju,
        "restore",
        lambda: juju.run(leader_unit, "restore", {"path": archive}, wait=DEADLINE),
        healthy_with(3),
        verify=False,  # writes acknowledged after the snapshot are discarded by design
    )
    return out


def _conf_has(juju: jubilant.Juju, line: str) -> bool:
    units = sorted(juju.status().apps["etcd"].units)
    return all(
        line in juju.exec("cat /var/snap/etcd/common/etcd.conf.yml", unit=u).stdout for u in units
    )


def _versions(juju: jubilant.Juju) -> set[str]:
    versions = set()
    for unit in sorted(juju.status().apps["etcd"].units):
        out = juju.exec(f"{UNIT_ETCDCTL} -w json endpoint status", unit=unit).stdout
        versions.add(json.loads(out)[0]["Status"]["version"])
    return versions
