"""lib/etcd_charm/snap_store.py: what the store offers, read from snap info's channels
block (snapd's layout, older snapd's too), and which channel ``auto`` installs."""

from __future__ import annotations

import pytest

from etcd_charm import snap_store

#: snapd 2.6x's snap info for a store whose etcd has tracks 3.4 and 3.5 (as the local
#: model's store prints it, in snapd's layout)
BOTH = """name:      etcd
summary:   Distributed reliable key-value store
publisher: Canonical✓
store-url: https://snapcraft.io/etcd
license:   Apache-2.0
description: |
  etcd is a distributed reliable key-value store. stable: not a channel
snap-id: localjuju-etcd-0000000000000001
channels:
  latest/stable:    3.5.16 2025-03-04 (516) 14MB -
  latest/candidate: ↑
  latest/beta:      ↑
  latest/edge:      ↑
  3.5/stable:       3.5.16 2025-03-04 (516) 14MB -
  3.5/candidate:    ↑
  3.5/beta:         ↑
  3.5/edge:         ↑
  3.4/stable:       3.4.23 2025-03-04 (423) 14MB -
  3.4/candidate:    ↑
  3.4/beta:         ↑
  3.4/edge:         3.4.30 2025-03-05 (430) 14MB -
installed:          3.4.23            (423) 14MB -
"""

#: an older snapd (the latest track's risks alone), a store with 3.4 and older only
OLD = """name:      etcd
summary:   Resilient key-value store by CoreOS
channels:
  stable:         3.4.5  2020-03-31 (230) 14MB -
  candidate:      ↑
  beta:           ↑
  edge:           --
  3.4/stable:     3.4.5  2020-03-31 (230) 14MB -
  3.4/candidate:  ↑
  3.4/beta:       ↑
  3.4/edge:       ↑
  3.3/stable:     3.3.19 2020-03-31 (225) 13MB -
  3.3/candidate:  ↑
  3.3/beta:       ↑
  3.3/edge:       ↑
  2.3/stable:     2.3.8  2018-02-06 (95) 8MB -
  2.3/candidate:  ↑
  2.3/beta:       --
  2.3/edge:       --
"""


def test_the_channels_block_and_nothing_else() -> None:
    offer = snap_store.parse_info(BOTH)
    assert offer.tracks == ["latest", "3.5", "3.4"]
    assert offer.channels["3.4/edge"] == "3.4.30"
    assert offer.channels["3.4/candidate"] == "3.4.23"  # closed: follows stable
    assert "installed" not in offer.channels and "description" not in str(offer.channels)
    assert offer.release("3.5/stable") == ("3.5.16", "516")
    assert offer.release("3.4/candidate") == ("3.4.23", "423")
    assert offer.release("3.4/edge") == ("3.4.30", "430")
    assert offer.release("3.6/stable") is None


def test_older_snapd_rows_are_the_latest_track() -> None:
    offer = snap_store.parse_info(OLD)
    assert offer.channels["latest/stable"] == "3.4.5"
    assert not offer.offers("latest/edge")  # "--": never released
    assert not offer.offers("2.3/beta")
    assert offer.offers("2.3/candidate")


@pytest.mark.parametrize(
    ("info", "auto"),
    [(BOTH, "3.5/stable"), (OLD, "3.4/stable"), ("channels:\n  latest/stable: 3.5.0 x\n", None)],
)
def test_auto_takes_the_newest_supported_stable_track(info: str, auto: str | None) -> None:
    assert snap_store.auto_channel(snap_store.parse_info(info)) == auto


def test_a_channel_the_store_lacks_is_named_with_what_it_has() -> None:
    offer = snap_store.parse_info(OLD)
    assert snap_store.missing_channel("3.4/stable", offer) == ""
    assert snap_store.missing_channel("3.4", offer) == ""
    assert snap_store.missing_channel("3.5/stable", offer) == (
        "channel '3.5/stable' is not in the snap store (etcd there: latest/stable, "
        "3.4/stable, 3.3/stable, 2.3/stable); choose one of those"
    )
    assert "3.5" in snap_store.no_supported_track(snap_store.parse_info(""))


def test_no_channel_at_all_means_no_store() -> None:
    # snapd shows an installed snap without channels when the store does not answer
    installed_only = "name: etcd\nsummary: x\ninstalled: 3.5.16 (x1) 14MB -\n"
    with pytest.raises(snap_store.NoStore):
        snap_store.store_offer(installed_only)
    assert snap_store.store_offer(BOTH).channels
