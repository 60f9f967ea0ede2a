"""Where a deploy's time goes, read from the model's debug log (pure: records in, figures out).

Each unit's hooks (from the agent's "executing operation" to its "ran" line) and the charm's
own milestones (``juju-log``): etcd installed, certificates written, etcd started, a learner
added, a learner promoted. From these, the split of a deploy to all healthy:

- ``first_hook_s``: until the last unit ran its first hook (the machines coming up);
- ``certificates_s``: until the first unit (the Juju leader) had its certificates;
- ``bootstrap_s``: until the first member started (a one-member cluster);
- ``joins_s``: from there until the last learner was promoted (every other member joining);
- per unit: the seconds its hooks ran, their median, and how many ran before its certificates.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from typing import Any

_EXECUTING = re.compile(r'^executing operation "run [^"]+ hook"')
_RAN = re.compile(r'^ran "(?P<hook>[^"]+)" hook(?: \(via [^)]*\))?$')
#: the charm's juju-log lines that mark a milestone (after an optional "<endpoint>:<id>: ")
MILESTONES = {
    "installed": re.compile(r"installed etcd "),
    "certificates": re.compile(r"certificates written to "),
    "started": re.compile(r"etcd started as member "),
    "learner": re.compile(r"added (?P<unit>\S+) as learner "),
    "promoted": re.compile(r"promoted (?P<unit>\S+) \("),
}


def unit_of(entity: str) -> str | None:
    """``unit-etcd-3`` -> ``etcd/3``."""
    if not entity.startswith("unit-"):
        return None
    app, _, number = entity[len("unit-") :].rpartition("-")
    return f"{app}/{number}" if app and number.isdigit() else None


def hooks_of(records: Iterable[dict[str, Any]], unit: str) -> list[tuple[str, float, float]]:
    """The unit's hooks that ran: (name, started, ended), in order. A unit runs one operation
    at a time, so a "ran" line ends the hook operation its agent last started executing."""
    tag = "unit-" + unit.replace("/", "-")
    started: float | None = None
    done: list[tuple[str, float, float]] = []
    for r in records:
        if r.get("entity") != tag:
            continue
        message = str(r.get("message", ""))
        if _EXECUTING.match(message):
            started = float(r["ts"])
            continue
        m = _RAN.match(message)
        if m and started is not None:
            done.append((m["hook"], started, float(r["ts"])))
            started = None
    return done


def milestones(records: Iterable[dict[str, Any]], app: str) -> list[tuple[float, str, str, str]]:
    """(time, unit that logged it, milestone, unit it is about) for the application's units."""
    found = []
    for r in records:
        unit = unit_of(str(r.get("entity", "")))
        if unit is None or not unit.startswith(app + "/"):
            continue
        if not str(r.get("module", "")).endswith(".juju-log"):
            continue
        message = str(r.get("message", ""))
        for name, pattern in MILESTONES.items():
            m = pattern.search(message)
            if m:
                about = m.groupdict().get("unit") or unit
                found.append((float(r["ts"]), unit, name, about))
    return found


def _first(events: list[tuple[float, str, str, str]], name: str, about: str = "") -> float | None:
    times = [t for t, _, n, a in events if n == name and (not about or a == about)]
    return min(times) if times else None


def deploy_split(
    records: list[dict[str, Any]], t0: float, units: list[str], app: str = "etcd"
) -> dict[str, Any]:
    """The split of a deploy that started at ``t0`` (wall clock) into its phases."""
    events = milestones(records, app)
    per_unit: dict[str, dict[str, Any]] = {}
    first_hooks = []
    for unit in units:
        ran = hooks_of(records, unit)
        certs = _first(events, "certificates", unit)
        before = [h for h in ran if certs is not None and h[2] <= certs]
        durations = [end - start for _, start, end in ran]
        if ran:
            first_hooks.append(ran[0][1])
        per_unit[unit] = {
            "busy_s": round(sum(durations), 1),
            "median_hook_s": round(statistics.median(durations), 2) if durations else 0.0,
            "hooks_before_certificates": len(before),
            "certificates_s": _rel(certs, t0),
            "started_s": _rel(_first(events, "started", unit), t0),
            "learner_s": _rel(_first(events, "learner", unit), t0),
            "promoted_s": _rel(_first(events, "promoted", unit), t0),
        }
    bootstrap = _first(events, "started")
    promoted = [t for t, _, n, _ in events if n == "promoted"]
    certificates = [t for t, _, n, _ in events if n == "certificates"]
    joins = len(units) - 1
    joins_s = (max(promoted) - bootstrap) if promoted and bootstrap is not None else 0.0
    return {
        "first_hook_s": _rel(max(first_hooks) if first_hooks else None, t0),
        "certificates_s": _rel(min(certificates) if certificates else None, t0),
        "bootstrap_s": _rel(bootstrap, t0),
        "joins_s": round(joins_s, 1),
        "per_join_s": round(joins_s / joins, 1) if joins and promoted else 0.0,
        "busy_s": round(sum(u["busy_s"] for u in per_unit.values()), 1),
        "units": per_unit,
    }


def _rel(t: float | None, t0: float) -> float | None:
    return None if t is None else round(t - t0, 1)
