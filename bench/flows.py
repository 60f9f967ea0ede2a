"""Which of the charm's files and functions one operator command makes the charm run: a
config change (``juju config etcd port=2381``) and an ``add-unit``, on the local model.

``python -m bench.flows [--charm build/etcd.charm] [--label now]`` deploys easyrsa and three
etcd units from a copy of the charm whose hook and action scripts start a profiler first
(nothing else in the charm changes), then counts, over every hook every unit runs for each
command until the cluster is healthy again, the distinct files and functions of the charm
(``reactive/``, ``lib/``, ``hooks/relations/``; its vendored ``venv/`` not counted; module
and class bodies run at import, comprehensions and lambdas not counted). Run it on two builds to compare them: the counts are
measured the same way for both. It prints a JSON report; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jubilant

from .common import CHARM, log, model

#: the profiler the traced copy's hook and action scripts import before the charm runs:
#: every call into a charm file (not venv/) is recorded, and at exit one JSON line per
#: process is appended to LOG
TRACER = r"""
import atexit, json, os, sys, time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_SEEN = set()
LOG = "/var/log/flowtrace.jsonl"


_SELF = os.path.abspath(__file__)


def _profile(frame, event, arg):
    # functions and methods only: module and class bodies run once at import (they have no
    # CO_OPTIMIZED flag), comprehensions and lambdas belong to the function around them
    if event == "call":
        code = frame.f_code
        path = code.co_filename
        if (
            code.co_flags & 0x1
            and not code.co_name.startswith("<")
            and path.startswith(_ROOT)
            and not path.startswith(_ROOT + "venv" + os.sep)
            and path != _SELF
        ):
            # Python 3.10 has no co_qualname: the line tells methods of one name apart
            name = getattr(code, "co_qualname", None) or f"{code.co_name}@{code.co_firstlineno}"
            _SEEN.add((path[len(_ROOT):], name))


def _write():
    sys.setprofile(None)
    hook = os.environ.get("JUJU_HOOK_NAME") or os.environ.get("JUJU_ACTION_NAME") or ""
    with open(LOG, "a") as f:
        f.write(json.dumps({"t": time.time(), "hook": hook,
                            "calls": sorted(_SEEN)}) + "\n")


atexit.register(_write)
sys.setprofile(_profile)
"""

IMPORT_LINE = "import flowtrace  # noqa: E402,F401  (bench.flows)\n"
MARKER = "from etcd_charm.entry import"


def traced_copy(charm: Path, dest: Path) -> Path:
    """The charm with ``lib/flowtrace.py`` and every hook and action script importing it
    just before the charm's entry point."""
    out = dest / (charm.stem + "-traced.charm")
    with zipfile.ZipFile(charm) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        patched = 0
        for info in src.infolist():
            data = src.read(info)
            if re.match(r"(hooks|actions)/[^/]+$", info.filename) and MARKER.encode() in data:
                text = data.decode()
                data = text.replace(MARKER, IMPORT_LINE + MARKER, 1).encode()
                patched += 1
            dst.writestr(info, data)
        tracer = zipfile.ZipInfo("lib/flowtrace.py", date_time=(1980, 1, 1, 0, 0, 0))
        tracer.external_attr = 0o644 << 16
        dst.writestr(tracer, TRACER)
    if not patched:
        raise SystemExit(f"{charm}: no hook script imports etcd_charm.entry; cannot trace it")
    return out


def trace_lines(juju: jubilant.Juju, units: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for unit in units:
        text = juju.exec("cat /var/log/flowtrace.jsonl 2>/dev/null; true", unit=unit).stdout
        out[unit] = [json.loads(line) for line in text.splitlines() if line.strip()]
    return out


def etcd_units(juju: jubilant.Juju) -> list[str]:
    return sorted(juju.status().apps["etcd"].units)


def healthy(count: int, port: int) -> Callable[[jubilant.Status], bool]:
    def ready(status: jubilant.Status) -> bool:
        units = status.apps["etcd"].units if "etcd" in status.apps else {}
        return (
            len(units) == count
            and all(
                u.workload_status.message == f"Healthy with {count} known peers"
                for u in units.values()
            )
            and all(f"{port}/tcp" in u.open_ports for u in units.values())
            and jubilant.all_agents_idle(status, "etcd")
        )

    return ready


def measure(
    juju: jubilant.Juju, command: Callable[[], None], ready: Callable[[jubilant.Status], bool]
) -> dict[str, Any]:
    """Run ``command``; every hook every unit runs until ``ready``: its charm calls."""
    before = {u: len(lines) for u, lines in trace_lines(juju, etcd_units(juju)).items()}
    start = time.monotonic()
    command()
    juju.wait(ready, error=jubilant.any_error, timeout=600, successes=5)
    took = time.monotonic() - start
    calls: set[tuple[str, str]] = set()
    hooks = 0
    for unit, lines in trace_lines(juju, etcd_units(juju)).items():
        for line in lines[before.get(unit, 0) :]:
            hooks += 1
            calls.update((path, name) for path, name in line["calls"])
    files = sorted({path for path, _ in calls})
    return {
        "seconds": round(took, 1),
        "hooks": hooks,
        "files": len(files),
        "functions": len(calls),
        "by_file": {f: sorted(n for p, n in calls if p == f) for f in files},
    }


def run(charm: Path, label: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="flows-") as tmp:
        traced = traced_copy(charm, Path(tmp))
        with model(f"flows-{label}") as juju:
            juju.deploy("easyrsa")
            juju.deploy(str(traced), "etcd", num_units=3)
            juju.integrate("etcd:certificates", "easyrsa:client")
            juju.wait(healthy(3, 2379), error=jubilant.any_error, timeout=900, successes=5)
            log(f"{label}: deployed; config change")
            config = measure(juju, lambda: juju.config("etcd", {"port": 2381}), healthy(3, 2381))
            log(f"{label}: add-unit")
            add = measure(juju, lambda: juju.add_unit("etcd"), healthy(4, 2381))
    return {"label": label, "charm": str(charm), "config_change": config, "add_unit": add}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.flows", description=__doc__)
    p.add_argument("--charm", type=Path, default=CHARM)
    p.add_argument("--label", default="now")
    a = p.parse_args(argv)
    report = run(a.charm, a.label)
    json.dump(report, sys.stdout, indent=1)
    print()
    for flow in ("config_change", "add_unit"):
        r = report[flow]
        log(
            f"{a.label} {flow}: {r['files']} files, {r['functions']} functions, {r['hooks']} hooks"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
