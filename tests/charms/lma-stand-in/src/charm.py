"""lma-stand-in test fixture: answer every prometheus-manual job and grafana-dashboard
import request (charms.reactive's request/response pattern, the same for both)."""

from __future__ import annotations

import json
import sys

import hooktools as ht

ENDPOINTS = ("manual-jobs", "dashboards")
OK = json.dumps({"reason": None, "success": True}, sort_keys=True)


def run_hook(hook: str) -> None:
    answered = 0
    for rid, units in (r for e in ENDPOINTS for r in ht.live_relations(e)):
        wanted: dict[str, str | None] = {}
        for unit in units:
            for key in ht.relation_get(rid, unit):
                if key.startswith("request_"):
                    wanted["response_" + key[len("request_") :]] = OK
        mine = ht.relation_get(rid, ht.unit_name())
        updates = {k: v for k, v in wanted.items() if mine.get(k) != v}
        updates.update({k: None for k in mine if k.startswith("response_") and k not in wanted})
        if updates:
            ht.relation_set(rid, updates)
        answered += len(wanted)
    ht.status_set("active", f"{answered} request(s) answered")


def run_action(name: str) -> None:
    ht.action_fail(f"no action {name}")


if __name__ == "__main__":
    sys.exit(ht.main(run_action, run_hook))
