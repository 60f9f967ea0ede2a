"""Integration tests of the etcd charm (a package so tests share conftest helpers)."""
