"""The Grafana dashboard of the etcd cluster, written for this charm: what an operator looks at
first (members up, a leader, leader changes, proposals, the database against its quota, disk
and network latency, client requests). One PromQL expression per panel target, over the
scrape job(s) whose name starts with ``etcd`` (interface prometheus-manual names them
``etcd-<request id>``). Pure: :func:`dashboard` returns the JSON object Grafana imports.

The datasource is named as the layer-etcd charm names it for the grafana-dashboard interface:
``<prometheus application> - Juju generated source``; COS names it ``${prometheusds}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: the series of the etcd scrape job(s) (the consumer appends the request id to the name)
JOB = 'job=~"etcd.*"'
#: Grafana's dashboard schema version this JSON follows (Grafana 8 to 11 import it)
SCHEMA_VERSION = 36
TITLE = "etcd"


def datasource_name(prometheus_app: str) -> str:
    """The datasource the grafana-dashboard consumer created for ``prometheus_app``."""
    return f"{prometheus_app} - Juju generated source"


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    targets: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    width: int = 12


def panels(job: str = JOB) -> tuple[Panel, ...]:
    """The panels, over the series that ``job`` (a label matcher) selects."""

    def _rate(metric: str) -> str:
        return f"rate({metric}{{{job}}}[5m])"

    def _quantile(q: str, metric: str) -> str:
        return f"histogram_quantile({q}, sum by (instance, le) ({_rate(metric + '_bucket')}))"

    return (
        Panel(
            "Members up",
            "Members whose metrics Prometheus scrapes (etcd's own view of the cluster is in the "
            "charm's status).",
            ((f"sum(up{{{job}}})", "up"), (f"count(up{{{job}}})", "members")),
            kind="stat",
            width=6,
        ),
        Panel(
            "Has a leader",
            "1 when the member sees a raft leader; 0 on any member means it cannot serve writes.",
            ((f"min(etcd_server_has_leader{{{job}}})", "has leader"),),
            kind="stat",
            width=6,
        ),
        Panel(
            "Leader changes (1h)",
            "Raft leader elections seen; frequent changes mean an overloaded disk or network.",
            ((f"max(increase(etcd_server_leader_changes_seen_total{{{job}}}[1h]))", "changes"),),
            kind="stat",
            width=6,
        ),
        Panel(
            "Health check failures (5m)",
            "Failed /health checks: no leader, a raised alarm (NOSPACE, CORRUPT) or a stuck member.",
            ((f"sum(increase(etcd_server_health_failures{{{job}}}[5m]))", "failures"),),
            kind="stat",
            width=6,
        ),
        Panel(
            "Proposals committed and applied",
            "Raft proposals committed and applied per second; applied lagging committed means the "
            "member cannot keep up.",
            (
                (_rate("etcd_server_proposals_committed_total"), "committed {{instance}}"),
                (_rate("etcd_server_proposals_applied_total"), "applied {{instance}}"),
            ),
            unit="ops",
        ),
        Panel(
            "Proposals pending and failed",
            "Proposals waiting to commit, and failures per second (lost quorum, leader changes).",
            (
                (f"etcd_server_proposals_pending{{{job}}}", "pending {{instance}}"),
                (_rate("etcd_server_proposals_failed_total"), "failed/s {{instance}}"),
            ),
        ),
        Panel(
            "Database size against the quota",
            "The backend database file and the quota: at the quota etcd raises NOSPACE and refuses "
            "writes (defragment, compact, or raise the quota).",
            (
                (f"etcd_mvcc_db_total_size_in_bytes{{{job}}}", "size {{instance}}"),
                (f"etcd_mvcc_db_total_size_in_use_in_bytes{{{job}}}", "in use {{instance}}"),
                (f"max(etcd_server_quota_backend_bytes{{{job}}})", "quota"),
            ),
            unit="bytes",
        ),
        Panel(
            "WAL fsync latency (p99, p50)",
            "Disk sync of the write-ahead log; above 10 ms at p99 the disk is too slow for etcd.",
            (
                (_quantile("0.99", "etcd_disk_wal_fsync_duration_seconds"), "p99 {{instance}}"),
                (_quantile("0.5", "etcd_disk_wal_fsync_duration_seconds"), "p50 {{instance}}"),
            ),
            unit="s",
        ),
        Panel(
            "Backend commit latency (p99, p50)",
            "Commits of the backend database; above 25 ms at p99 the disk is too slow.",
            (
                (
                    _quantile("0.99", "etcd_disk_backend_commit_duration_seconds"),
                    "p99 {{instance}}",
                ),
                (
                    _quantile("0.5", "etcd_disk_backend_commit_duration_seconds"),
                    "p50 {{instance}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Peer round trip time (p99)",
            "Round trip time to each peer; it bounds how fast the cluster commits.",
            (
                (
                    "histogram_quantile(0.99, sum by (instance, To, le) "
                    f"({_rate('etcd_network_peer_round_trip_time_seconds_bucket')}))",
                    "{{instance}} to {{To}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Client requests (gRPC)",
            "Requests per second by method, and those that failed.",
            (
                (
                    f"sum by (grpc_method) (rate(grpc_server_started_total{{{job},"
                    'grpc_type="unary"}[5m]))',
                    "{{grpc_method}}",
                ),
                (
                    f'sum(rate(grpc_server_handled_total{{{job},grpc_code!="OK"}}[5m]))',
                    "failed",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "Client traffic",
            "Bytes received from and sent to clients.",
            (
                (_rate("etcd_network_client_grpc_received_bytes_total"), "in {{instance}}"),
                (_rate("etcd_network_client_grpc_sent_bytes_total"), "out {{instance}}"),
            ),
            unit="Bps",
        ),
    )


PANELS = panels()


def expressions(job: str = JOB) -> list[str]:
    """Every PromQL expression of the dashboard."""
    return [expr for panel in panels(job) for expr, _ in panel.targets]


def dashboard(datasource: str, job: str = JOB) -> dict[str, Any]:
    """The dashboard, its panels querying ``datasource`` (a datasource name, or COS'
    ``${prometheusds}`` variable) over the series ``job`` selects."""
    panels_json: list[dict[str, Any]] = []
    x = y = 0
    height = 0
    for i, p in enumerate(panels(job), start=1):
        h = 4 if p.kind == "stat" else 8
        if x + p.width > 24:
            x, y = 0, y + height
            height = 0
        panels_json.append(
            {
                "id": i,
                "type": p.kind,
                "title": p.title,
                "description": p.description,
                "datasource": datasource,
                "gridPos": {"h": h, "w": p.width, "x": x, "y": y},
                "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
                "options": {},
                "targets": [
                    {"expr": expr, "legendFormat": legend, "refId": chr(ord("A") + n)}
                    for n, (expr, legend) in enumerate(p.targets)
                ],
            }
        )
        x += p.width
        height = max(height, h)
    return {
        "title": TITLE,
        "uid": "etcd-charm",
        "description": "etcd cluster run by the etcd charm",
        "tags": ["etcd"],
        "timezone": "",
        "editable": True,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "templating": {"list": []},
        "panels": panels_json,
    }
