"""cos_agent provider: the class lives in lib/etcd_charm/endpoints.py (typed there);
charms.reactive finds it here."""

from etcd_charm.endpoints import CosAgentProvides

__all__ = ["CosAgentProvides"]
