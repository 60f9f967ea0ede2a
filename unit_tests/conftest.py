"""Unit tests of the etcd charm."""
