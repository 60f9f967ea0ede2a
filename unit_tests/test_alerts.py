"""The cos-agent alert rules (lib/etcd_charm/alerts.py): Prometheus' own promtool checks them
(``check rules``) and runs each against series (``test rules``: firing, and not firing), and
every metric they read is one that real etcd 3.4.23 and 3.5.16 scrapes export
(unit_tests/data/metrics/, scripts/capture_etcd_metrics.py).

promtool comes with Debian's prometheus package (scripts/setup installs it)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from etcd_charm import alerts, dashboard

PROMTOOL = "/usr/bin/promtool"
DATA = Path(__file__).resolve().parent / "data" / "metrics"
TOPOLOGY = alerts.Topology("test", "58b48ff0-608b-435f-83b9-ea643e0b98db", "etcd")
JOB = "etcd_etcd_0123abcd"


def promtool() -> str:
    if not os.path.exists(PROMTOOL):
        assert not os.environ.get("CI"), "scripts/setup installs prometheus (promtool)"
        pytest.skip("promtool is not installed: run scripts/setup")
    return PROMTOOL


# ----------------------------------------------------------------- shape and topology


@pytest.mark.parametrize(
    "voters, quorum_rule",
    [(1, None), (2, None), (3, "<= 2"), (4, "<= 3"), (5, "<= 3"), (7, "<= 4")],
)
def test_the_quorum_rule_follows_the_voters(voters: int, quorum_rule: str | None) -> None:
    found = {r.alert: r for r in alerts.rules(TOPOLOGY, voters)}
    base = {
        "EtcdNoLeader",
        "EtcdFrequentLeaderChanges",
        "EtcdHighFsyncDurations",
        "EtcdHighCommitDurations",
        "EtcdDatabaseNearQuota",
        "EtcdMemberDown",
    }
    if quorum_rule is None:
        assert set(found) == base
    else:
        assert set(found) == base | {"EtcdQuorumAtRisk"}
        assert found["EtcdQuorumAtRisk"].expr.endswith(quorum_rule)
        assert f"of {voters} members up" in found["EtcdQuorumAtRisk"].summary


def test_rules_carry_the_topology_and_select_it() -> None:
    groups = alerts.rule_groups(TOPOLOGY, 3)["groups"]
    (group,) = groups
    # cos-lib keeps a name that looks already prefixed (Rules._is_already_modified)
    assert group["name"] == "test_58b48ff0_etcd_etcd_alerts_rules"
    assert re.match(r"^.*?_[\da-f]{8}_.*?rules$", group["name"])
    for rule in group["rules"]:
        assert rule["labels"]["juju_model"] == "test"
        assert rule["labels"]["juju_model_uuid"] == TOPOLOGY.model_uuid
        assert rule["labels"]["juju_application"] == "etcd"
        assert rule["labels"]["juju_charm"] == "etcd"
        assert rule["labels"]["severity"] in ("warning", "critical")
        # every selector is exactly the topology's: none left once they are taken out
        expr = rule["expr"]
        assert "{" + TOPOLOGY.selector() + "}" in expr, rule["alert"]
        assert "{" not in expr.replace("{" + TOPOLOGY.selector() + "}", ""), rule["alert"]


def test_a_group_name_is_a_metric_name() -> None:
    odd = alerts.Topology("my-model.x", "0123abcd-0000", "etcd-2")
    assert alerts.group_name(odd) == "my_model_x_0123abcd_etcd_2_etcd_alerts_rules"


def test_label_values_are_escaped() -> None:
    odd = alerts.Topology('a"b', "u\\v", "etcd")
    assert 'juju_model="a\\"b"' in odd.selector()
    assert 'juju_model_uuid="u\\\\v"' in odd.selector()


def _strip_templates(text: str) -> str:
    return re.sub(r"\{\{.*?\}\}", "", text)


# ----------------------------------------------------------------- metrics etcd exports


def families(version: str) -> dict[str, set[str]]:
    """metric family -> its label names, from a real scrape."""
    found: dict[str, set[str]] = {}
    for line in (DATA / f"{version}.txt").read_text().splitlines():
        if line.startswith("#"):
            continue
        name, _kind, *labels = line.split(" ")
        found[name] = set(labels[0].split(",")) if labels else set()
    return found


def metrics_of(expr: str) -> set[str]:
    """The metric names an expression selects (every selector here has label matchers)."""
    names = set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", _strip_templates(expr)))
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


@pytest.mark.parametrize("version", ["3.4.23", "3.5.16"])
def test_every_rule_reads_metrics_etcd_exports(version: str) -> None:
    exported = families(version)
    assert "etcd_server_has_leader" in exported and len(exported) > 100
    used: set[str] = set()
    for rule in alerts.rules(TOPOLOGY, 5):
        names = metrics_of(rule.expr)
        assert names, rule.alert
        used |= names
        for name in names - {"up"}:  # up: Prometheus' own, for every target
            assert name in exported, (rule.alert, name, version)
        for label in re.findall(r"without \(([^)]*)\)", rule.expr):
            for lab in (x.strip() for x in label.split(",")):
                if lab in ("instance", "juju_unit"):
                    continue  # the target's, not etcd's
                assert any(lab in exported[n] for n in names - {"up"}), (rule.alert, lab)
    assert "etcd_network_peer_sent_failures_total" in used
    # and the check can fail
    assert metrics_of('etcd_no_such_metric{a="b"} > 0') - set(exported)


@pytest.mark.parametrize("version", ["3.4.23", "3.5.16"])
def test_every_dashboard_expression_reads_metrics_etcd_exports(version: str) -> None:
    exported = families(version)
    for expr in dashboard.expressions(alerts.JOB_MATCHER):
        for name in metrics_of(expr) - {"up"}:
            assert name in exported, (expr, version)


# ----------------------------------------------------------------- promtool


def write_rules(tmp_path: Path, voters: int = 3) -> Path:
    path = tmp_path / "etcd.rules.yml"
    path.write_text(yaml.safe_dump(alerts.rule_groups(TOPOLOGY, voters), sort_keys=False))
    return path


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    tool = promtool()
    for voters in (1, 3, 5):
        path = write_rules(tmp_path, voters)
        proc = subprocess.run([tool, "check", "rules", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        count = len(alerts.rules(TOPOLOGY, voters))
        assert f"SUCCESS: {count} rules found" in proc.stdout


def series(
    metric: str, values: str, unit: int = 0, app: str = "etcd", **extra: str
) -> dict[str, str]:
    labels = {
        "job": JOB,
        "instance": f"10.0.0.{unit + 1}:9379",
        "juju_model": TOPOLOGY.model,
        "juju_model_uuid": TOPOLOGY.model_uuid,
        "juju_application": app,
        "juju_unit": f"{app}/{unit}",
        **extra,
    }
    text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{metric}{{{text}}}", "values": values}


def member_labels(unit: int = 0) -> dict[str, str]:
    """The labels of an alert on one member's series."""
    return {
        "job": JOB,
        "instance": f"10.0.0.{unit + 1}:9379",
        "juju_model": TOPOLOGY.model,
        "juju_model_uuid": TOPOLOGY.model_uuid,
        "juju_application": "etcd",
        "juju_unit": f"etcd/{unit}",
        "juju_charm": "etcd",
    }


def cluster_labels() -> dict[str, str]:
    """The labels of an alert on the cluster (the per-member labels aggregated away)."""
    return {k: v for k, v in member_labels().items() if k not in ("instance", "juju_unit")}


def expected(rule: str, labels: dict[str, str], summary: str) -> dict[str, Any]:
    found = {r.alert: r for r in alerts.rules(TOPOLOGY, 3)}[rule]
    return {
        "exp_labels": {**labels, "severity": found.severity},
        "exp_annotations": {"summary": summary, "description": found.description},
    }


def bucket(metric: str, le: str, values: str, unit: int = 0) -> dict[str, str]:
    return series(f"{metric}_bucket", values, unit, le=le)


WAL = "etcd_disk_wal_fsync_duration_seconds"
COMMIT = "etcd_disk_backend_commit_duration_seconds"
M0 = "etcd/0 (10.0.0.1:9379)"

#: (test name, rule, input series, evaluation time, expected alerts): each rule fires on
#: one and stays quiet on another
CASES: list[tuple[str, str, list[dict[str, str]], str, list[dict[str, Any]]]] = [
    (
        "no leader fires after a minute",
        "EtcdNoLeader",
        [series("etcd_server_has_leader", "1x5 0x10")],
        "8m",
        [expected("EtcdNoLeader", member_labels(), f"etcd member {M0} has no leader")],
    ),
    (
        "a leader, or another application without one: quiet",
        "EtcdNoLeader",
        [
            series("etcd_server_has_leader", "1x15"),
            series("etcd_server_has_leader", "0x15", app="other"),
        ],
        "10m",
        [],
    ),
    (
        "a leader change a minute for 20 minutes",
        "EtcdFrequentLeaderChanges",
        [
            series("etcd_server_leader_changes_seen_total", "0+1x30"),
            series("etcd_server_leader_changes_seen_total", "0x30", unit=1),
        ],
        "25m",
        [
            expected(
                "EtcdFrequentLeaderChanges",
                cluster_labels(),
                "etcd cluster etcd: 15 leader changes in 15 minutes",
            )
        ],
    ),
    (
        "one leader change: quiet",
        "EtcdFrequentLeaderChanges",
        [series("etcd_server_leader_changes_seen_total", "0x10 1x20")],
        "25m",
        [],
    ),
    (
        "every fsync between 0.5 and 1 s",
        "EtcdHighFsyncDurations",
        [
            bucket(WAL, "0.5", "0x30"),
            bucket(WAL, "1", "0+10x30"),
            bucket(WAL, "+Inf", "0+10x30"),
        ],
        "20m",
        [
            expected(
                "EtcdHighFsyncDurations",
                member_labels(),
                f"etcd member {M0}: 99th percentile WAL fsync takes 995ms",
            )
        ],
    ),
    (
        "every fsync under 8 ms: quiet",
        "EtcdHighFsyncDurations",
        [
            bucket(WAL, "0.008", "0+10x30"),
            bucket(WAL, "0.5", "0+10x30"),
            bucket(WAL, "+Inf", "0+10x30"),
        ],
        "20m",
        [],
    ),
    (
        "every commit between 0.25 and 0.5 s",
        "EtcdHighCommitDurations",
        [
            bucket(COMMIT, "0.25", "0x30"),
            bucket(COMMIT, "0.5", "0+10x30"),
            bucket(COMMIT, "+Inf", "0+10x30"),
        ],
        "20m",
        [
            expected(
                "EtcdHighCommitDurations",
                member_labels(),
                f"etcd member {M0}: 99th percentile backend commit takes 497.5ms",
            )
        ],
    ),
    (
        "every commit under 25 ms: quiet",
        "EtcdHighCommitDurations",
        [
            bucket(COMMIT, "0.025", "0+10x30"),
            bucket(COMMIT, "0.25", "0+10x30"),
            bucket(COMMIT, "+Inf", "0+10x30"),
        ],
        "20m",
        [],
    ),
    (
        "the database at 90% of its quota",
        "EtcdDatabaseNearQuota",
        [
            series("etcd_mvcc_db_total_size_in_bytes", "900x20"),
            series("etcd_server_quota_backend_bytes", "1000x20"),
        ],
        "15m",
        [
            expected(
                "EtcdDatabaseNearQuota",
                member_labels(),
                f"etcd member {M0}: the database is at 90% of its quota",
            )
        ],
    ),
    (
        "the database at half its quota: quiet",
        "EtcdDatabaseNearQuota",
        [
            series("etcd_mvcc_db_total_size_in_bytes", "500x20"),
            series("etcd_server_quota_backend_bytes", "1000x20"),
        ],
        "15m",
        [],
    ),
    (
        "etcd down on a machine whose agent scrapes it",
        "EtcdMemberDown",
        [
            series("up", "1x20"),
            series("up", "0x20", unit=1),
            series("etcd_network_peer_sent_failures_total", "0x20", To="2"),
        ],
        "15m",
        [expected("EtcdMemberDown", cluster_labels(), "etcd cluster etcd: 1 member(s) down")],
    ),
    (
        "a machine gone (no series of its own): its peers cannot send to it",
        "EtcdMemberDown",
        [
            series("up", "1x20"),
            series("up", "1x20", unit=1),
            series("etcd_network_peer_sent_failures_total", "0+60x20", To="3"),
            series("etcd_network_peer_sent_failures_total", "0+60x20", unit=1, To="3"),
        ],
        "15m",
        [expected("EtcdMemberDown", cluster_labels(), "etcd cluster etcd: 1 member(s) down")],
    ),
    (
        "every member up, no send failures: quiet",
        "EtcdMemberDown",
        [
            series("up", "1x20"),
            series("up", "1x20", unit=1),
            series("etcd_network_peer_sent_failures_total", "3x20", To="2"),
        ],
        "15m",
        [],
    ),
    (
        "two of three members up",
        "EtcdQuorumAtRisk",
        # the third one's last sample at 5m: gone from instant queries 5 minutes later
        [series("up", "1x30"), series("up", "1x30", unit=1), series("up", "1x5", unit=2)],
        "20m",
        [
            expected(
                "EtcdQuorumAtRisk",
                cluster_labels(),
                "etcd cluster etcd: 2 of 3 members up, one more failure loses quorum",
            )
        ],
    ),
    (
        "three of three members up: quiet",
        "EtcdQuorumAtRisk",
        [series("up", "1x20"), series("up", "1x20", unit=1), series("up", "1x20", unit=2)],
        "15m",
        [],
    ),
]


def run_tests(tmp_path: Path, cases: list[Any]) -> subprocess.CompletedProcess[str]:
    rules = write_rules(tmp_path)
    tests = {
        "rule_files": [rules.name],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": name,
                "interval": "1m",
                "input_series": inputs,
                "alert_rule_test": [
                    {"eval_time": at, "alertname": alert, "exp_alerts": exp},
                ],
            }
            for name, alert, inputs, at, exp in cases
        ],
    }
    path = tmp_path / "etcd.tests.yml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    return subprocess.run(
        [promtool(), "test", "rules", str(path)], capture_output=True, text=True, cwd=tmp_path
    )


def test_every_rule_has_a_firing_and_a_quiet_case() -> None:
    for rule in alerts.rules(TOPOLOGY, 3):
        mine = [c for c in CASES if c[1] == rule.alert]
        assert any(c[4] for c in mine), f"{rule.alert} never fires in a test"
        assert any(not c[4] for c in mine), f"{rule.alert} is never quiet in a test"


def test_promtool_runs_every_case(tmp_path: Path) -> None:
    proc = run_tests(tmp_path, CASES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_promtool_fails_a_wrong_expectation(tmp_path: Path) -> None:
    # the quiet cases expected to fire: promtool says no (the runs above can fail)
    wrong = [
        (name, alert, inputs, at, [expected(alert, member_labels(), "x")])
        for name, alert, inputs, at, exp in CASES
        if not exp
    ]
    proc = run_tests(tmp_path, wrong)
    assert proc.returncode != 0
    assert proc.stdout.count("FAILED") + proc.stderr.count("FAILED") >= 1
