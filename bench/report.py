"""``report.md`` and its plots from one run's results (``report.json``)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

#: the reading of the figures, written by hand after a full run, appended to the report
ANALYSIS = Path(__file__).resolve().parent / "analysis.md"


def _mean(per_unit: dict[str, dict[str, Any]], key: str) -> float:
    return statistics.mean(v[key] for v in per_unit.values()) if per_unit else 0.0


def deploy_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for n, d in sorted(results.get("deploy", {}).items(), key=lambda kv: int(kv[0])):
        charm, floor = d["charm"], d["floor"]
        rows.append(
            {
                "n": int(n),
                "charm_s": charm["wall_s"],
                "floor_s": floor["wall_s"],
                "machines_s": floor.get("machines_s", 0.0),
                "ratio": d["ratio"],
                "draws": d.get("draws") or [],
                "hooks": _mean(charm["units"], "hooks"),
                "floor_hooks": _mean(floor["units"], "hooks"),
                "starts": _mean(charm["units"], "etcd_starts"),
                "etcdctl": _mean(charm["units"], "etcdctl_calls"),
            }
        )
    return rows


def plot_deploy(rows: list[dict[str, Any]], path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    ns = [r["n"] for r in rows]
    left.plot(ns, [r["charm_s"] for r in rows], "o-", label="charm")
    left.plot(ns, [r["floor_s"] for r in rows], "s--", label="floor (script)")
    left.plot(ns, [r["machines_s"] for r in rows], "x:", label="machines only (floor)")
    left.set_xlabel("etcd units")
    left.set_ylabel("seconds to all healthy")
    left.set_xticks(ns)
    left.legend()
    left.set_title("Deploy to healthy")
    right.plot(ns, [r["hooks"] for r in rows], "o-", label="hooks per unit")
    right.plot(ns, [r["etcdctl"] for r in rows], "s-", label="etcdctl calls per unit")
    right.plot(ns, [r["starts"] for r in rows], "^-", label="etcd starts per unit")
    right.set_xlabel("etcd units")
    right.set_xticks(ns)
    right.legend()
    right.set_title("Work per unit (charm)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_timeline(name: str, data: dict[str, Any], path: Path) -> None:
    """Each acknowledged write's latency at the time it was acknowledged; the operation's
    start and end as vertical lines, each status change of a unit as a tick on top."""
    fig, ax = plt.subplots(figsize=(10, 3.5))
    points = data["timeline"]
    ax.scatter([p[0] for p in points], [p[1] for p in points], s=3, label="write latency")
    failures = data.get("failures") or []
    if failures:  # each failed request: a red bar from when it was sent, as long as it took
        ax.scatter(
            [f[0] for f in failures], [max(f[1], 1.0) for f in failures], s=12, marker="x",
            color="red", label="failed request (ms it took)",
        )  # fmt: skip
        ax.legend(loc="upper left", fontsize=7)
    ax.set_yscale("log")
    ax.set_xlabel("seconds since the writer started")
    ax.set_ylabel("ms to acknowledgement")
    top = max((p[1] for p in points), default=1.0) * 1.5
    for t, who, what in data["steps"]:
        if who == "operator":
            ax.axvline(t, color="red" if what != "done" else "green", linestyle="--")
            ax.annotate(what, (t, top), fontsize=8, rotation=90, va="top")
        else:
            ax.plot([t], [top], marker="|", color="gray", markersize=10)
    ax.set_title(
        f"{name}: {data['failed_writes']} failed writes, p99 {data['p99_ms']:.0f} ms, "
        f"longest gap {data['longest_gap_ms']} ms"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def availability_lines(avail: dict[str, Any]) -> list[str]:
    lines = [
        "## Availability during operations",
        "",
        "Each operation runs under its own writer (`tests/writes.py`: what a `db` client gets, "
        "failing over between endpoints, every acknowledged write read back afterwards). "
        "Gap: the longest time without an acknowledgement. Beside each writer, in the same "
        "run, a second one writes through one client given every endpoint "
        "(`etcdctl --endpoints=a,b,c`, the balancer of etcd's client library, every 50 ms): "
        "its longest gap is what the cluster itself stopped answering.",
        "",
        "| operation | took s | acknowledged | failed writes | lost | p50 ms | p99 ms | "
        "longest gap ms | longest gap ms, one client with every endpoint |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, d in avail.items():
        lost = "n/a (restore)" if d["lost"] is None else str(d["lost"])
        other = d.get("balanced") or {}
        both = other.get("longest_gap_ms", "n/a")
        if other.get("lost"):
            both = f"{both} ({other['lost']} lost)"
        lines.append(
            f"| {name} | {d['operation_s']:.1f} | {d['acknowledged']} | {d['failed_writes']} "
            f"| {lost} | {d['p50_ms']:.1f} | {d['p99_ms']:.1f} | {d['longest_gap_ms']} | {both} |"
        )
    lines.append("")
    gaps = [(name, d["gap"], "db client") for name, d in avail.items() if d.get("gap")]
    gaps += [
        (name, d["balanced"]["gap"], "every endpoint")
        for name, d in avail.items()
        if (d.get("balanced") or {}).get("gap", {}).get("ms")
    ]
    gaps.sort(key=lambda g: list(avail).index(g[0]))
    if gaps:
        lines += [
            "Where each longest gap went: the failed requests inside it (the writer's own "
            "request timeout is 2 s: a request to a member that stops answering without closing "
            "the connection costs all of it before the writer fails over) and the rest, the "
            "time the cluster took to answer requests sent without waiting. The last column "
            "counts the writes the other client got acknowledged inside this gap: any, and "
            "the cluster was answering while this client waited (the gap is the client's).",
            "",
            "| operation | client | gap ms | failed requests in it | of which ms waiting on "
            "them | longest one ms | the rest ms | errors | the other client's acks in it |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, g, who in gaps:
            rest = g["ms"] - g["failed_requests_ms"]
            errors = "; ".join(g["errors"]) or "none"
            others = g.get("other_acks")
            lines.append(
                f"| {name} | {who} | {g['ms']} | {g['failed_requests']} "
                f"| {g['failed_requests_ms']} | {g['longest_failed_ms']} | {rest} | {errors} "
                f"| {'n/a' if others is None else others} |"
            )
        lines.append("")
    for name in avail:
        lines += [f"![{name}](availability-{name}.png)", ""]
    return lines


def split_lines(results: dict[str, Any]) -> list[str]:
    """Where the charm's deploy time went (``bench/timeline.py``), for the runs that have it."""
    runs = [
        (int(n), d["charm"])
        for n, d in sorted(results.get("deploy", {}).items(), key=lambda kv: int(kv[0]))
        if d["charm"].get("split")
    ]
    if not runs:
        return []
    lines = [
        "Where the charm's time went (from the debug log: the charm's own milestones and "
        "every hook's start and end). Hooks busy: the etcd units' hook seconds added up "
        "(more than the wall time when units run hooks at once).",
        "",
        "| N | last machine's first hook s | first certificates s | first member started s "
        "| joins s (per join) | hooks busy s | median hook s | hooks before own "
        "certificates |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, charm in runs:
        sp, units = charm["split"], charm["units"]
        lines.append(
            f"| {n} | {_fmt(sp['first_hook_s'])} | {_fmt(sp['certificates_s'])} "
            f"| {_fmt(sp['bootstrap_s'])} | {sp['joins_s']:.1f} ({sp['per_join_s']:.1f}) "
            f"| {sp['busy_s']:.1f} | {_mean(units, 'median_hook_s'):.2f} "
            f"| {_mean(units, 'hooks_before_certificates'):.1f} |"
        )
    return lines + [""]


def fit(ns: list[int], ys: list[float], degree: int) -> tuple[list[float], float]:
    """Least-squares polynomial of ``degree`` through (n, y): its coefficients, constant
    first, and the root-mean-square residual."""
    import numpy as np

    coefs = np.polyfit(ns, ys, degree)[::-1]
    fitted = np.polyval(coefs[::-1], ns)
    rms = float(np.sqrt(np.mean((np.asarray(ys) - fitted) ** 2)))
    return [float(c) for c in coefs], rms


def growth(ns: list[int], ys: list[float]) -> str:
    """How ``ys`` grows with N: quadratic when the N^2 term is more than a tenth of the
    fitted value at the largest N and halves the residual of the straight line; linear
    otherwise. Both fits are said."""
    if len(ns) < 3:
        return "too few sizes to fit"
    (a1, b1), r1 = fit(ns, ys, 1)
    (a2, b2, c2), r2 = fit(ns, ys, 2)
    top = max(ns)
    share = abs(c2 * top * top) / max(abs(a2 + b2 * top + c2 * top * top), 1e-9)
    quadratic = share > 0.1 and r2 < r1 / 2
    line = f"{a1:.2f} + {b1:.2f}N (rms {r1:.2f})"
    curve = f"{a2:.2f} + {b2:.2f}N + {c2:.3f}N^2 (rms {r2:.2f})"
    verdict = "**quadratic**" if quadratic else "**linear**"
    return f"{verdict}: linear fit {line}; quadratic fit {curve}"


def growth_lines(rows: list[dict[str, Any]], results: dict[str, Any]) -> list[str]:
    ns = [r["n"] for r in rows]
    if len(ns) < 3:
        return []
    median_hook = [
        (
            _mean(results["deploy"][str(n)]["charm"]["units"], "median_hook_s")
            if all(
                "median_hook_s" in u for u in results["deploy"][str(n)]["charm"]["units"].values()
            )
            else 0.0
        )
        for n in ns
    ]
    lines = [
        f"Growth from N={ns[0]} to N={ns[-1]} (least squares over the {len(ns)} sizes):",
        "",
        f"- deploy time: {growth(ns, [r['charm_s'] for r in rows])};",
        f"- floor: {growth(ns, [r['floor_s'] for r in rows])};",
        f"- hooks per unit: {growth(ns, [r['hooks'] for r in rows])}; the target 2N+8 is "
        + ", ".join(f"{2 * n + 8} at N={n}" for n in ns)
        + ";",
    ]
    if all(median_hook):
        lines.append(f"- median hook time: {growth(ns, median_hook)}.")
    return lines + [""]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render(results: dict[str, Any], analysis: str = "") -> str:
    m = results["machine"]
    lines = [
        "# etcd charm: benchmark and resilience report",
        "",
        f"Commit `{m['commit']}`, {m['date']}; {m['cores']} cores, {m['memory_gib']} GiB, "
        f"kernel {m['kernel']}, Python {m['python']}. Absolute times are from one run on a "
        "shared machine; every ratio compares two figures measured in the same run on the "
        "same machine. Regenerate with `make bench` (`.venv/bin/python -m bench`).",
        "",
    ]
    if results.get("smoke"):
        lines += ["**Smoke run** (CI): small sizes and few samples.", ""]
    rows = deploy_rows(results)
    if rows:
        lines += [
            "## Deploy to all healthy: charm against the floor",
            "",
            "Charm: `juju deploy easyrsa`, `juju deploy etcd -n N`, `juju integrate`, until "
            'every unit says "Healthy with N known peers". Floor: the same machines (easyrsa '
            "and N units of a charm whose hooks do nothing), then a straight script: "
            "certificates from the same CA code, one static `etcd.conf.yml` per unit with the "
            "whole initial cluster, `snap install etcd`, until every member answers "
            "`endpoint health`.",
            "",
            "| N | charm s | floor s | of which machines s | charm/floor | hooks per unit "
            "(floor) | etcd starts per unit | etcdctl calls per unit |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            lines.append(
                f"| {r['n']} | {r['charm_s']:.1f} | {r['floor_s']:.1f} | {r['machines_s']:.1f} "
                f"| **{r['ratio']:.2f}** | {r['hooks']:.1f} ({r['floor_hooks']:.1f}) "
                f"| {r['starts']:.1f} | {r['etcdctl']:.1f} |"
            )
        lines += [""]
        drawn = [r for r in rows if len(r["draws"]) > 1]
        if drawn:
            lines += [
                "Juju draws the order of relation hooks anew in each deploy (the local model "
                "as well), so one deploy is one draw. These sizes were deployed "
                f"{len(drawn[0]['draws'])} times, each draw against its own floor; the row above "
                "is the draw of the median ratio:",
                "",
                "| N | charm s, each draw | floor s, each draw | charm/floor, each draw | median | "
                "range |",
                "|---|---|---|---|---|---|",
            ]
            for r in drawn:
                ds = r["draws"]
                ratios = [d["ratio"] for d in ds]
                charms = ", ".join(f"{d['charm_s']:.1f}" for d in ds)
                floors = ", ".join(f"{d['floor_s']:.1f}" for d in ds)
                each = ", ".join(f"{x:.2f}" for x in ratios)
                lines.append(
                    f"| {r['n']} | {charms} | {floors} | {each} | **{r['ratio']:.2f}** "
                    f"| {min(ratios):.2f} - {max(ratios):.2f} |"
                )
            lines += [""]
        lines += ["![deploy](deploy.png)", ""]
        lines += split_lines(results)
        lines += growth_lines(rows, results)
        if len(rows) > 1:
            first, last = rows[0], rows[-1]
            lines += [
                f"Scale {first['n']} -> {last['n']} units: charm "
                f"{last['charm_s'] / first['charm_s']:.2f}x the time, floor "
                f"{last['floor_s'] / first['floor_s']:.2f}x; hooks per unit "
                f"{first['hooks']:.1f} -> {last['hooks']:.1f}.",
                "",
            ]
    h = results.get("hooks")
    if h:
        lines += [
            "## Hook cost on a healthy cluster",
            "",
            f"On {h['unit']} ({h.get('role', 'a follower')}), {h['samples']} runs each, "
            "timed on the unit in a "
            "`juju exec` context. The baseline is charms.reactive's own no-op hook: a copy of "
            "the charm without its handlers whose hook runs the framework's `main` as "
            "layer-basic's hook does.",
            "",
            "| figure | charm | baseline | ratio |",
            "|---|---|---|---|",
            f"| update-status, median | {h['update_status_median_s']:.3f} s | "
            f"{h['noop_median_s']:.3f} s | **{h['ratio']:.2f}** |",
        ]
        lead = h.get("leader")
        if lead:
            lines += [
                f"| update-status on the leader ({lead['unit']}: it also asks `is-leader`, "
                "and `snap info etcd` of the store one time in six), median | "
                f"{lead['update_status_median_s']:.3f} s | {lead['noop_median_s']:.3f} s | "
                f"**{lead['ratio']:.2f}** |",
            ]
            if "mean_ratio" in lead:
                lines += [
                    f"| update-status on the leader, mean (the store's runs counted) | "
                    f"{lead['update_status_mean_s']:.3f} s | {lead['noop_mean_s']:.3f} s | "
                    f"{lead['mean_ratio']:.2f} |",
                ]
        if "own_noop_median_s" in h:
            lines += [
                f"| the charm's own entry point without handlers (pkg_resources stand-in, "
                f"batched flag trace), median | {h['own_noop_median_s']:.3f} s | "
                f"{h['noop_median_s']:.3f} s | {h['own_noop_ratio']:.2f} |",
            ]
        lines += [
            f"| peak memory of a hook | {h['peak_rss_mib']:.1f} MiB | "
            f"{h['noop_peak_rss_mib']:.1f} MiB | "
            f"{h['peak_rss_mib'] / max(h['noop_peak_rss_mib'], 0.1):.2f} |",
            f"| one hook tool call (`is-leader`), median of {h['tool_calls']} | "
            f"{h['tool_call_median_ms']:.1f} ms | | |",
        ]
        if "update_status_calls" in h:
            mine, noop = h["update_status_calls"], h.get("noop_calls", {})
            lines += [
                f"| hook tool calls in one update-status | {sum(mine.values())} | "
                f"{sum(noop.values())} | |",
                "",
                "The hook tools one update-status called (the baseline's in brackets): "
                + ", ".join(f"`{k}` {v} ({noop.get(k, 0)})" for k, v in mine.items())
                + ".",
            ]
        lines += [""]
    snap = results.get("snapshot")
    if snap:
        lines += [
            "## Snapshot and restore of a large keyspace",
            "",
            f"{snap['keys']} keys of random 100 KB values, database {snap['db_mb']:.1f} MB, on "
            "a 3-unit cluster. Raw: `etcdctl snapshot save` and `etcdutl snapshot restore` "
            "(the data-directory rebuild alone) timed on the leader's machine. Actions: timed "
            "from the operator's side (`juju run`), with their checks, metadata, archive and, "
            "for restore, the swap and the new one-member cluster.",
            "",
            "| step | action s | raw s | action/raw |",
            "|---|---|---|---|",
            f"| snapshot | {snap['snapshot_action_s']:.2f} | {snap['raw_save_s']:.2f} | "
            f"**{snap['snapshot_ratio']:.2f}** |",
            f"| restore | {snap['restore_action_s']:.2f} | {snap['raw_restore_s']:.2f} | "
            f"**{snap['restore_ratio']:.2f}** |",
        ]
        if "create_backup_s" in snap:
            lines += [
                f"| create-backup (the unit's store) | {snap['create_backup_s']:.2f} | "
                f"{snap['raw_save_s']:.2f} | **{snap['create_backup_ratio']:.2f}** |",
                f"| any action (list-backups, the floor) | {snap['action_floor_s']:.2f} | | |",
            ]
        measured = snap.get("measured")
        if measured:
            before = snap.get("before") or {}
            lines += [
                "",
                f"This section alone was measured again at commit `{measured['commit']}`, "
                f"{measured['date']} (`python -m bench --only snapshot`); the rest of the "
                "report is from the commit above."
                + (
                    f" Before (commit `{before['commit']}`): snapshot "
                    f"{before['snapshot_ratio']:.2f}x, restore {before['restore_ratio']:.2f}x."
                    if before
                    else ""
                ),
            ]
        lines += [
            "",
            f"Every unit healthy again with all {snap['keys']} keys (and not the one written "
            f"after the snapshot) {snap['restore_all_healthy_s']:.1f} s after the restore "
            f"started; archive {snap['snapshot_archive']}"
            + (f" ({snap['snapshot_compression']})" if snap.get("snapshot_compression") else "")
            + ".",
            "",
        ]
    if results.get("availability"):
        lines += availability_lines(results["availability"])
    if analysis.strip():
        lines += [analysis.strip(), ""]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], out: Path) -> None:
    rows = deploy_rows(results)
    if rows:
        plot_deploy(rows, out / "deploy.png")
    for name, data in (results.get("availability") or {}).items():
        plot_timeline(name, data, out / f"availability-{name}.png")
    analysis = ANALYSIS.read_text() if ANALYSIS.exists() and not results.get("smoke") else ""
    (out / "report.md").write_text(render(results, analysis))
