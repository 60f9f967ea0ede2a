"""grafana-dashboard provider: the class lives in lib/etcd_charm/endpoints.py (typed there);
charms.reactive finds it here."""

from etcd_charm.endpoints import GrafanaDashboardProvides

__all__ = ["GrafanaDashboardProvides"]
