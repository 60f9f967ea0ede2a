"""s3 requirer: the class lives in lib/etcd_charm/endpoints.py (typed there); charms.reactive
finds it here."""

from etcd_charm.endpoints import S3Requires

__all__ = ["S3Requires"]
