"""The Prometheus alert rules of the ``cos-agent`` relation, built here. Pure.

The thresholds and most expressions follow etcd's own monitoring mixin (etcd-io/etcd
``contrib/mixin/mixin.libsonnet``, commit 0d0fc573ba6e): etcdNoLeader, etcdHighNumberOfLeader
Changes, etcdHighFsyncDurations (warning), etcdHighCommitDurations, etcdMembersDown. Where the
mixin does not fit a subordinate agent that scrapes only its own machine's member, the rule
says why it differs.

Every metric a rule reads is one that etcd 3.4.23 and 3.5.16 really export: the names and label
names are checked against the families of real scrapes (unit_tests/data/metrics/, written by
scripts/capture_etcd_metrics.py) and against etcd's source (``etcd_network_peer_sent_failures
_total{To}``: server/etcdserver/api/rafthttp/metrics.go at v3.5.16, f20bbadd404b).

Juju topology, as the ``cos_agent`` provider library does it (canonical/grafana-agent-operator
``lib/charms/grafana_agent/v0/cos_agent.py`` LIBPATCH 26, 4ad98c84e17f, which hands the rules
to cos-lib's ``AlertRules(topology=JujuTopology.from_charm(charm))``, cosl 1.11.3
``rules.py``): every rule carries the labels ``juju_model``, ``juju_model_uuid``,
``juju_application`` and ``juju_charm``; every selector matches ``juju_model``,
``juju_model_uuid`` and ``juju_application`` (``JujuTopology.alert_expression_dict``: not
the unit, the rules are one copy per application); the group is named
``<model>_<uuid[:8]>_<application>_..._rules``, which cos-lib recognises as already named
(``Rules._is_already_modified``: ``^.*?_[\\da-f]{8}_.*?rules$``) and leaves alone. Without the
labels, the agent would inject its own topology (``_from_file`` inserts only the labels a rule
lacks) and the rules would match the agent's series, never etcd's.

The consumer labels each scraped series with the principal unit's ``juju_model``,
``juju_model_uuid``, ``juju_application`` and ``juju_unit`` (``COSAgentRequirer.metrics_jobs``);
``instance`` and ``juju_unit`` are what tell two members apart, so cluster-wide rules aggregate
them away.

Not here: a certificate-expiry rule. etcd exports no certificate metric, and neither consumer
gives the charm a metric source it could feed (see docs/monitoring-interfaces.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .quorum import quorum

#: the series of the charm's own scrape job (:func:`cos_agent.job_name`: ``<app>_etcd_<hash>``)
JOB_MATCHER = 'job=~".+_etcd_[0-9a-f]{8}"'
#: the labels that tell one member's series from another's
PER_MEMBER = "instance, juju_unit"


@dataclass(frozen=True)
class Topology:
    """Where the charm runs, as cos-lib's JujuTopology names it."""

    model: str
    model_uuid: str
    application: str
    charm: str = "etcd"

    @property
    def identifier(self) -> str:
        """``<model>_<first 8 characters of the model uuid>_<application>``."""
        return f"{self.model}_{self.model_uuid[:8]}_{self.application}"

    def labels(self) -> dict[str, str]:
        """The labels every rule carries (``label_matcher_dict``)."""
        return {
            "juju_model": self.model,
            "juju_model_uuid": self.model_uuid,
            "juju_application": self.application,
            "juju_charm": self.charm,
        }

    def selector(self) -> str:
        """The label matchers of every series a rule reads: the charm's job, this
        application (``alert_expression_dict``)."""
        pairs = (
            ("juju_model", self.model),
            ("juju_model_uuid", self.model_uuid),
            ("juju_application", self.application),
        )
        return ",".join([JOB_MATCHER] + [f'{k}="{_escape(v)}"' for k, v in pairs])


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


@dataclass(frozen=True)
class Rule:
    alert: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str

    def to_dict(self, labels: dict[str, str]) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "expr": self.expr,
            "for": self.for_,
            "labels": {**labels, "severity": self.severity},
            "annotations": {"summary": self.summary, "description": self.description},
        }


def rules(topology: Topology, voters: int) -> list[Rule]:
    """The alert rules of a cluster of ``voters`` voting members."""
    s = topology.selector()
    member = "{{ $labels.juju_unit }} ({{ $labels.instance }})"
    found: list[Rule] = [
        Rule(
            "EtcdNoLeader",
            f"etcd_server_has_leader{{{s}}} == 0",
            "1m",
            "critical",
            f"etcd member {member} has no leader",
            "The member sees no raft leader: the cluster cannot serve writes through it. "
            "Quorum may be lost: check `juju status` and the members' health action.",
        ),
        Rule(
            "EtcdFrequentLeaderChanges",
            # the mixin takes the max over members of the counter, then increase(); here the
            # increase per member, then the max: no subquery, the same for one counter reset
            f"max without ({PER_MEMBER}) "
            f"(increase(etcd_server_leader_changes_seen_total{{{s}}}[15m])) >= 4",
            "5m",
            "warning",
            "etcd cluster {{ $labels.juju_application }}: {{ $value }} leader changes in 15 "
            "minutes",
            "Frequent elections: an overloaded disk or network, or members restarting.",
        ),
        Rule(
            "EtcdHighFsyncDurations",
            "histogram_quantile(0.99, "
            f"rate(etcd_disk_wal_fsync_duration_seconds_bucket{{{s}}}[5m])) > 0.5",
            "10m",
            "warning",
            f"etcd member {member}: 99th percentile WAL fsync takes "
            "{{ $value | humanizeDuration }}",
            "The disk is too slow for etcd's write-ahead log (at 0.5 s and more at p99, "
            "heartbeats are missed and leaders change).",
        ),
        Rule(
            "EtcdHighCommitDurations",
            "histogram_quantile(0.99, "
            f"rate(etcd_disk_backend_commit_duration_seconds_bucket{{{s}}}[5m])) > 0.25",
            "10m",
            "warning",
            f"etcd member {member}: 99th percentile backend commit takes "
            "{{ $value | humanizeDuration }}",
            "The disk is too slow for etcd's database commits.",
        ),
        Rule(
            "EtcdDatabaseNearQuota",
            f"etcd_mvcc_db_total_size_in_bytes{{{s}}} "
            f"/ etcd_server_quota_backend_bytes{{{s}}} > 0.8",
            "10m",
            "warning",
            f"etcd member {member}: the database is at {{{{ $value | humanizePercentage }}}} "
            "of its quota",
            "At the quota etcd raises the NOSPACE alarm and refuses writes. Compact and "
            "defragment (the compact and defrag actions), or raise the quota.",
        ),
        Rule(
            "EtcdMemberDown",
            # a member whose etcd does not answer its machine's agent, or (its machine or agent
            # gone: no series at all) one its peers cannot send to. Unlike the mixin's
            # `A or B` (B is dropped whenever A has a series, even of value 0), each part
            # is filtered first.
            f"(sum without ({PER_MEMBER}) (up{{{s}}} == bool 0) > 0) or "
            f"count without (To) (sum without ({PER_MEMBER}) "
            f"(rate(etcd_network_peer_sent_failures_total{{{s}}}[2m])) > 0.01)",
            "10m",
            "critical",
            "etcd cluster {{ $labels.juju_application }}: {{ $value }} member(s) down",
            "A member's etcd does not answer, or its peers cannot reach it. See `juju status`: "
            "the unit's status names the members that are down.",
        ),
    ]
    if voters >= 3:
        # 1 and 2 voters have no failure to spare by design: no rule
        need = quorum(voters)
        found.append(
            Rule(
                "EtcdQuorumAtRisk",
                # members whose agent sees etcd up; a machine that is gone has no series and
                # counts as down, which `count(up)` (the mixin's cluster size) would miss:
                # the size is the charm's, from etcd's member list
                f"sum without ({PER_MEMBER}) (up{{{s}}} == bool 1) <= {need}",
                "5m",
                "warning",
                "etcd cluster {{ $labels.juju_application }}: {{ $value }} of "
                f"{voters} members up, one more failure loses quorum",
                f"{voters} voting members need {need} to keep quorum. Bring the members that "
                "are down back, or replace them (juju remove-unit --force, juju add-unit).",
            )
        )
    return found


def group_name(topology: Topology) -> str:
    """The group's name, as cos-lib names it and keeps it (a Prometheus metric name)."""
    return re.sub(r"[^a-zA-Z0-9_:]", "_", f"{topology.identifier}_etcd_alerts_rules")


def rule_groups(topology: Topology, voters: int) -> dict[str, Any]:
    """The rule file: ``{"groups": [{"name", "rules"}]}`` (Prometheus' format)."""
    labels = topology.labels()
    return {
        "groups": [
            {
                "name": group_name(topology),
                "rules": [r.to_dict(labels) for r in rules(topology, voters)],
            }
        ]
    }
