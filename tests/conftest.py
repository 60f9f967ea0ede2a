"""Integration tests (jubilant) of the etcd charm."""
