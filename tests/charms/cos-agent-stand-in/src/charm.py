"""cos-agent-stand-in test fixture: a cos_agent consumer that only reports what it received
(the principal unit's ``config``); the tests check the data itself."""

from __future__ import annotations

import json
import sys

import hooktools as ht


def run_hook(hook: str) -> None:
    received = []
    for rid, units in ht.live_relations("cos-agent"):
        for unit in units:
            raw = ht.relation_get(rid, unit).get("config")
            if raw:
                received.append(sorted(json.loads(raw)))
    if received:
        ht.status_set("active", f"config from {len(received)} unit(s): {', '.join(received[0])}")
    else:
        ht.status_set("waiting", "no config from the principal yet")


def run_action(name: str) -> None:
    ht.action_fail(f"no action {name}")


if __name__ == "__main__":
    sys.exit(ht.main(run_action, run_hook))
