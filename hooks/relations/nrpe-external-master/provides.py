"""nrpe-external-master provider: the class lives in lib/etcd_charm/endpoints.py (typed there);
charms.reactive finds it here."""

from etcd_charm.endpoints import NrpeExternalMasterProvides

__all__ = ["NrpeExternalMasterProvides"]
