"""The benchmark's smoke run (what CI runs of it): one unit, charm and floor, hook cost.
It checks that the bench measures what it reports, not how fast anything is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import LOCAL, ROOT

pytestmark = pytest.mark.integration


def test_bench_smoke(tmp_path: Path, etcd_charm: str) -> None:
    if not LOCAL or os.geteuid() != 0:
        pytest.skip("the bench runs on the local model (root)")
    subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        check=True,
        timeout=900,
    )
    results = json.loads((tmp_path / "report.json").read_text())
    one = results["deploy"]["1"]
    assert one["charm"]["wall_s"] > one["floor"]["machines_s"] > 0
    assert one["ratio"] == round(one["charm"]["wall_s"] / one["floor"]["wall_s"], 2)
    charm = one["charm"]["units"]["etcd/0"]
    assert charm["etcd_starts"] == 1  # the charm starts etcd exactly once on a deploy
    assert charm["etcdctl_calls"] > 0 and charm["hooks"] > one["floor"]["units"]["etcd/0"]["hooks"]
    assert one["floor"]["units"]["etcd/0"]["etcdctl_calls"] == 0  # the floor polls from the host
    # where the time went, read from the charm's own milestones in the debug log
    split = one["charm"]["split"]
    assert 0 < split["certificates_s"] <= split["bootstrap_s"] < one["charm"]["wall_s"]
    assert split["joins_s"] == 0.0  # one unit: it founds the cluster alone
    assert 0 < charm["hooks_before_certificates"] < charm["hooks"]
    assert 0 < charm["busy_s"] and charm["started_s"] == split["bootstrap_s"]
    hooks = results["hooks"]
    assert hooks["update_status_median_s"] > 0 and hooks["noop_median_s"] > 0
    assert hooks["peak_rss_mib"] > 10 and hooks["tool_call_median_ms"] > 0
    report = (tmp_path / "report.md").read_text()
    assert f"| 1 | {one['charm']['wall_s']:.1f} |" in report
    assert (tmp_path / "deploy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
