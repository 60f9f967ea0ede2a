"""The quorum arithmetic every safety rule and status message shares. Pure."""

from __future__ import annotations


def quorum(voters: int) -> int:
    """How many of ``voters`` voting members must answer for etcd to serve (raft's majority)."""
    return voters // 2 + 1
