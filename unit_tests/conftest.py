"""Unit tests of the etcd charm: the pure core in lib/etcd_charm, with real inputs."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
