"""Unit tests of the etcd charm (a package so tests share helpers)."""
