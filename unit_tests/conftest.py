"""Unit tests of the etcd charm: the pure core in lib/etcd_charm, with real inputs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))


#: what the charm writes on a unit's machine; a unit test that creates one wrote on the test
#: host itself (a path the test forgot to point at its tmp_path)
UNIT_ONLY = (
    "/var/snap/etcd",
    "/var/lib/nagios/etcd-status.json",
    "/etc/systemd/system/etcd-backup.timer",
)


@pytest.fixture(scope="package", autouse=True)
def nothing_written_on_the_host() -> Iterator[None]:
    existed = {p for p in UNIT_ONLY if Path(p).exists()}
    yield
    created = sorted(p for p in UNIT_ONLY if Path(p).exists() and p not in existed)
    assert not created, f"unit tests wrote on the test host: {', '.join(created)}"


@pytest.fixture(autouse=True)
def no_hook_tool_answer_kept() -> Iterator[None]:
    """Each test is a hook of its own: the hook tools' answers it faked are not kept for
    the next one (lib/etcd_charm/hooktools.py keeps them for a hook's life)."""
    from etcd_charm import hooktools

    hooktools.forget()
    yield
    hooktools.forget()
