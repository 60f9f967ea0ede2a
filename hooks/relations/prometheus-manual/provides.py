"""prometheus-manual provider: the class lives in lib/etcd_charm/endpoints.py (typed there);
charms.reactive finds it here."""

from etcd_charm.endpoints import PrometheusManualProvides

__all__ = ["PrometheusManualProvides"]
