"""The benchmark: ``.venv/bin/python -m bench`` (``make bench``) runs every scenario on the
local model and writes ``bench/report.md``, ``bench/report.json`` and the plots beside them.
``--smoke`` (what CI runs) is a short version into ``build/bench-smoke/``.

Every figure is measured in this run next to its baseline; the headline is the ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import availability, deploy, hooks, report, snapshot
from .common import ROOT, log, machine, model

SCENARIOS = ("deploy", "availability", "snapshot")


#: The sizes whose deploy ratio has a target (issue 23): each is deployed ``--draws`` times.
DRAWN_SIZES = (5, 7)


def median_draw(runs: list[tuple[dict[str, Any], dict[str, Any], float]]) -> dict[str, Any]:
    """One size's deploys: the draw of the median ratio (its charm and floor detail the
    report), with every draw's figures beside it."""
    ordered = sorted(runs, key=lambda r: r[2])
    charm, floor, ratio = ordered[(len(ordered) - 1) // 2]
    return {
        "charm": charm,
        "floor": floor,
        "ratio": ratio,
        "draws": [
            {"charm_s": c["wall_s"], "floor_s": f["wall_s"], "ratio": r} for c, f, r in runs
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--smoke", action="store_true", help="a short run (CI)")
    parser.add_argument("--sizes", default="", help="cluster sizes, e.g. 1,3,5,7,9")
    parser.add_argument("--out", default="", help="output directory")
    parser.add_argument("--samples", type=int, default=0, help="hook samples")
    parser.add_argument(
        "--draws", type=int, default=0, help=f"deploys of each size of {DRAWN_SIZES} (3)"
    )
    parser.add_argument("--mb", type=int, default=256, help="keyspace of the snapshot scenario")
    parser.add_argument(
        "--only", default="", help=f"comma-separated scenarios of {', '.join(SCENARIOS)}"
    )
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x] or (
        [1] if args.smoke else [1, 3, 5, 7, 9]
    )
    samples = args.samples or (3 if args.smoke else 15)
    draws = args.draws or (1 if args.smoke else 3)
    out = Path(args.out) if args.out else ROOT / ("build/bench-smoke" if args.smoke else "bench")
    out.mkdir(parents=True, exist_ok=True)
    only = [x for x in args.only.split(",") if x] or (["deploy"] if args.smoke else SCENARIOS)
    unknown = sorted(set(only) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {SCENARIOS}")
    results: dict[str, Any] = {"machine": machine(), "smoke": args.smoke, "deploy": {}}
    report_json = out / "report.json"

    def save() -> None:
        report_json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")

    hook_size = 3 if 3 in sizes else sizes[0]

    def on_cluster(juju: Any) -> dict[str, Any]:
        units = juju.status().apps["etcd"].units
        # a follower (every unit but one), then the leader (it also asks the store); a
        # one-unit cluster has only the leader
        followers = sorted(n for n, u in units.items() if not u.leader)
        leader = next(n for n, u in units.items() if u.leader)
        if not followers:
            log(f"hook cost on the leader {leader}, {samples} samples")
            return {"hooks": {**hooks.hook_cost(juju, leader, samples, 10 * samples),
                              "role": "the leader"}}  # fmt: skip
        log(f"hook cost on {followers[0]} and the leader {leader}, {samples} samples")
        cost = hooks.hook_cost(juju, followers[0], samples, 10 * samples)
        cost["role"] = "a follower"
        cost["leader"] = hooks.hook_cost(juju, leader, samples, 10 * samples)
        return {"hooks": cost}

    for n in sizes if "deploy" in only else []:
        # the sizes with a target are deployed several times: the relation order is drawn
        # anew in each deploy (as Juju draws it), so one deploy is one draw
        runs = []
        for draw in range(draws if n in DRAWN_SIZES else 1):
            keep = on_cluster if n == hook_size and draw == 0 else None
            charm = deploy.charm(n, keep=keep)
            if "hooks" in charm:
                results["hooks"] = charm.pop("hooks")
            floor = deploy.floor(n)
            runs.append((charm, floor, round(charm["wall_s"] / floor["wall_s"], 2)))
        results["deploy"][str(n)] = median_draw(runs)
        save()
    if "availability" in only:
        with model("bench-availability") as juju:
            results["availability"] = availability.scenarios(juju)
        save()
    if "snapshot" in only:
        with model("bench-snapshot") as juju:
            results["snapshot"] = snapshot.snapshot_restore(juju, args.mb)
        save()
    report.write(results, out)
    log(f"wrote {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
