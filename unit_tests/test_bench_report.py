"""The benchmark's report from a results document (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import report

RESULTS: dict[str, Any] = {
    "machine": {
        "commit": "abc1234",
        "date": "2026-11-21 23:00 UTC",
        "cores": 2,
        "memory_gib": 8.0,
        "kernel": "6.1",
        "python": "3.11.2",
    },
    "smoke": False,
    "deploy": {
        "3": {
            "charm": {
                "wall_s": 30.0,
                "units": {
                    f"etcd/{i}": {"hooks": 12, "etcd_starts": 1, "etcdctl_calls": 9}
                    for i in range(3)
                },
            },
            "floor": {
                "wall_s": 12.0,
                "machines_s": 8.0,
                "units": {
                    f"etcd/{i}": {"hooks": 4, "etcd_starts": 1, "etcdctl_calls": 0}
                    for i in range(3)
                },
            },
            "ratio": 2.5,
        },
        "1": {
            "charm": {
                "wall_s": 12.0,
                "units": {"etcd/0": {"hooks": 9, "etcd_starts": 1, "etcdctl_calls": 3}},
            },
            "floor": {
                "wall_s": 6.0,
                "machines_s": 5.0,
                "units": {"etcd/0": {"hooks": 4, "etcd_starts": 1, "etcdctl_calls": 0}},
            },
            "ratio": 2.0,
        },
    },
    "hooks": {
        "unit": "etcd/0",
        "samples": 15,
        "update_status_median_s": 0.6,
        "noop_median_s": 0.25,
        "ratio": 2.4,
        "tool_call_median_ms": 9.5,
        "tool_calls": 150,
        "peak_rss_mib": 35.0,
        "noop_peak_rss_mib": 32.0,
    },
}


def test_rows_are_ordered_by_size_with_per_unit_means() -> None:
    rows = report.deploy_rows(RESULTS)
    assert [r["n"] for r in rows] == [1, 3]
    assert rows[1]["hooks"] == 12 and rows[1]["etcdctl"] == 9 and rows[1]["floor_hooks"] == 4


def test_render_quotes_the_ratios_and_the_machine() -> None:
    text = report.render(RESULTS)
    assert "Commit `abc1234`" in text and "2 cores, 8.0 GiB" in text
    assert "| 1 | 12.0 | 6.0 | 5.0 | **2.00** | 9.0 (4.0) | 1.0 | 3.0 |" in text
    assert "| 3 | 30.0 | 12.0 | 8.0 | **2.50** | 12.0 (4.0) | 1.0 | 9.0 |" in text
    assert "Scale 1 -> 3 units: charm 2.50x the time, floor 2.00x" in text
    assert "| update-status, median | 0.600 s | 0.250 s | **2.40** |" in text
    assert "Smoke run" not in text


def test_write_makes_the_plot(tmp_path: Path) -> None:
    report.write(RESULTS, tmp_path)
    assert (tmp_path / "deploy.png").read_bytes()[:4] == b"\x89PNG"
    analysis = report.ANALYSIS.read_text() if report.ANALYSIS.exists() else ""
    assert (tmp_path / "report.md").read_text() == report.render(RESULTS, analysis)


def test_split_and_analysis() -> None:
    split = {
        "first_hook_s": 2.8,
        "certificates_s": 43.0,
        "bootstrap_s": 48.1,
        "joins_s": 36.5,
        "per_join_s": 9.1,
        "busy_s": 397.4,
    }
    units = {
        f"etcd/{i}": {
            "hooks": 30,
            "etcd_starts": 1,
            "etcdctl_calls": 20,
            "median_hook_s": 2.0 + i / 10,
            "hooks_before_certificates": 20 + i,
        }
        for i in range(3)
    }
    deploy = dict(RESULTS["deploy"])
    deploy["3"] = dict(deploy["3"], charm={"wall_s": 30.0, "split": split, "units": units})
    text = report.render(dict(RESULTS, deploy=deploy), "## Reading\n\nthe biggest cost")
    assert "| 3 | 2.8 | 43.0 | 48.1 | 36.5 (9.1) | 397.4 | 2.10 | 21.0 |" in text
    assert "| 1 | 2.8" not in text  # no split recorded for that run
    assert text.rstrip().endswith("## Reading\n\nthe biggest cost")


AVAILABILITY = {
    "add-unit": {
        "operation_s": 14.2,
        "acknowledged": 700,
        "failed_writes": 0,
        "retried_writes": 0,
        "lost": 0,
        "p50_ms": 3.1,
        "p99_ms": 40.0,
        "longest_gap_ms": 95,
        "timeline": [(0.1, 3.0), (0.2, 2.9), (5.0, 40.0)],
        "steps": [
            (1.0, "operator", "add-unit"),
            (3.0, "etcd/3", "waiting: x"),
            (15.0, "operator", "done"),
        ],
    },
    "restore": {
        "operation_s": 20.0,
        "acknowledged": 500,
        "failed_writes": 12,
        "retried_writes": 3,
        "lost": None,
        "p50_ms": 3.5,
        "p99_ms": 900.0,
        "longest_gap_ms": 4100,
        "timeline": [(0.1, 3.0)],
        "steps": [(1.0, "operator", "restore"), (21.0, "operator", "done")],
        "failures": [(5.0, 2001.0, 0, "etcdctl put: no answer")],
        "balanced": {"acknowledged": 300, "failed_writes": 0, "lost": None, "longest_gap_ms": 120},
        "gap": {
            "from_s": 5.0,
            "ms": 4100,
            "failed_requests": 2,
            "failed_requests_ms": 2003,
            "longest_failed_ms": 2001,
            "errors": ["etcdctl put"],
            "failures": [],
        },
    },
}


def test_the_longest_gap_is_split_into_failed_requests_and_the_rest() -> None:
    from bench.availability import gap_breakdown

    acks = [10.1, 10.2, 13.0, 13.1]  # the gap: 10.2 -> 13.0
    failures = [(10.25, 2.0, 0, "HTTP timeout: no answer"), (12.3, 0.001, 1, "refused: x")]
    g = gap_breakdown(10.0, acks, failures)
    assert (g["from_s"], g["ms"], g["failed_requests"]) == (0.2, 2800, 2)
    assert (g["failed_requests_ms"], g["longest_failed_ms"]) == (2001, 2000)
    assert g["errors"] == ["HTTP timeout", "refused"]
    assert gap_breakdown(10.0, [], []) == {}


def test_the_other_client_s_acks_inside_a_gap_say_whether_the_cluster_answered() -> None:
    from bench.availability import acks_in_gap

    gap = {"from_s": 0.2, "ms": 2800}  # 10.2 -> 13.0, for a writer started at 10.0
    assert acks_in_gap(10.0, gap, [10.1, 10.5, 12.9, 13.0, 14.0]) == 2
    assert acks_in_gap(10.0, gap, [9.0, 13.5]) == 0
    assert acks_in_gap(10.0, {}, [11.0]) is None


def test_availability_table_and_timelines(tmp_path: Path) -> None:
    results = dict(RESULTS, availability=AVAILABILITY)
    text = report.render(results)
    assert "| add-unit | 14.2 | 700 | 0 | 0 | 3.1 | 40.0 | 95 | n/a |" in text
    assert "| restore | 20.0 | 500 | 12 | n/a (restore) | 3.5 | 900.0 | 4100 | 120 |" in text
    assert "| restore | db client | 4100 | 2 | 2003 | 2001 | 2097 | etcdctl put | n/a |" in text
    report.write(results, tmp_path)
    for name in AVAILABILITY:
        assert f"![{name}](availability-{name}.png)" in text
        assert (tmp_path / f"availability-{name}.png").read_bytes()[:4] == b"\x89PNG"


SNAPSHOT: dict[str, Any] = {
    "keys": 2621,
    "db_mb": 270.1,
    "fill_s": 200.0,
    "raw_save_s": 2.5,
    "raw_restore_s": 3.0,
    "snapshot_action_s": 9.0,
    "snapshot_archive": "190M",
    "restore_action_s": 10.5,
    "restore_all_healthy_s": 40.2,
    "snapshot_ratio": 3.6,
    "restore_ratio": 3.5,
    "keys_per_unit": {},
}


def test_snapshot_section() -> None:
    snap = SNAPSHOT
    text = report.render(dict(RESULTS, snapshot=snap))
    assert "2621 keys of random 100 KB values, database 270.1 MB" in text
    assert "| snapshot | 9.00 | 2.50 | **3.60** |" in text
    assert "| restore | 10.50 | 3.00 | **3.50** |" in text
    assert "with all 2621 keys" in text and "40.2 s after the restore" in text


def test_a_section_measured_again_says_when_and_what_it_was_before() -> None:
    results = dict(RESULTS)
    results["snapshot"] = {
        **SNAPSHOT,
        "measured": {"commit": "def5678", "date": "2026-12-05 12:15 UTC"},
        "before": {"commit": "abc1234", "snapshot_ratio": 4.57, "restore_ratio": 6.55},
    }
    text = report.render(results)
    assert (
        "This section alone was measured again at commit `def5678`, 2026-12-05 12:15 UTC "
        "(`python -m bench --only snapshot`); the rest of the report is from the commit above. "
        "Before (commit `abc1234`): snapshot 4.57x, restore 6.55x."
    ) in text
    assert "measured again" not in report.render(RESULTS)


def test_growth_says_linear_or_quadratic_and_both_fits() -> None:
    from bench.report import growth

    ns = [1, 3, 5, 7, 9]
    assert growth(ns, [8 + 2 * n for n in ns]).startswith("**linear**: linear fit 8.00 + 2.00N")
    said = growth(ns, [5 + n + 1.5 * n * n for n in ns])
    assert said.startswith("**quadratic**") and "1.500N^2 (rms 0.00)" in said
    assert growth([1, 3], [1.0, 2.0]) == "too few sizes to fit"


def test_a_size_deployed_several_times_reports_the_median_draw_and_each() -> None:
    from bench.__main__ import median_draw

    def run(charm_s: float, floor_s: float) -> tuple[dict[str, Any], dict[str, Any], float]:
        base = RESULTS["deploy"]["3"]
        charm = {**base["charm"], "wall_s": charm_s}
        floor = {**base["floor"], "wall_s": floor_s}
        return charm, floor, round(charm_s / floor_s, 2)

    drawn = median_draw([run(33.0, 11.0), run(24.0, 12.0), run(30.0, 12.0)])
    assert drawn["ratio"] == 2.5 and drawn["charm"]["wall_s"] == 30.0  # 2.0 < 2.5 < 3.0
    assert [d["ratio"] for d in drawn["draws"]] == [3.0, 2.0, 2.5]
    results = {**RESULTS, "deploy": {**RESULTS["deploy"], "3": drawn}}
    text = report.render(results)
    assert "| 3 | 30.0 | 12.0 | 8.0 | **2.50** |" in text
    assert (
        "| 3 | 33.0, 24.0, 30.0 | 11.0, 12.0, 12.0 | 3.00, 2.00, 2.50 | **2.50** | 2.00 - 3.00 |"
        in text
    )
    assert "deployed 3 times" in text
    assert "deployed" not in report.render(RESULTS)  # one draw per size: no draws table
