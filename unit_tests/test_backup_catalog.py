"""The backup store's ids, layout, catalogue and retention (pure)."""

from __future__ import annotations

import datetime

import pytest

from etcd_charm import backup_catalog as B

UTC = datetime.timezone.utc
T = datetime.datetime(2026, 12, 5, 6, 40, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("taken", "want"),
    [
        (set(), "2026-12-05T06:40:01Z"),
        ({"2026-12-05T06:40:01Z"}, "2026-12-05T06:40:01Z-1"),
        ({"2026-12-05T06:40:01Z", "2026-12-05T06:40:01Z-1"}, "2026-12-05T06:40:01Z-2"),
    ],
)
def test_ids_are_the_utc_start_time_made_unique(taken: set[str], want: str) -> None:
    assert B.backup_id(T, taken) == want


def test_an_id_is_in_utc_whatever_the_zone() -> None:
    paris = datetime.timezone(datetime.timedelta(hours=1))
    assert B.backup_id(T.astimezone(paris), set()) == "2026-12-05T06:40:01Z"


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        B.backup_id(T.replace(tzinfo=None), set())


def test_names() -> None:
    assert B.meta_name("2026-12-05T06:40:01Z") == "2026-12-05T06:40:01Z.json"
    assert B.data_name("2026-12-05T06:40:01Z-1") == "2026-12-05T06:40:01Z-1.tar.gz"


def test_the_catalogue_sorts_complete_from_incomplete_and_ignores_the_rest() -> None:
    names = [
        "2026-12-05T06:40:01Z.json",
        "2026-12-05T06:40:01Z.tar.gz",
        "2026-12-04T02:00:00Z.tar.gz",  # upload interrupted before its metadata
        "2026-12-03T02:00:00Z.json",  # data removed by hand
        "2026-12-05T06:40:01Z-1.tar.gz",
        "2026-12-05T06:40:01Z-1.json",
        "README.txt",
        "other.json",
        "notanid.tar.gz",
        "2026-12-02T02:00:00Z.tar.gz.part",  # a local store's file being written
    ]
    listing = B.catalogue(names)
    assert listing.complete == ("2026-12-05T06:40:01Z", "2026-12-05T06:40:01Z-1")
    assert listing.incomplete == ("2026-12-03T02:00:00Z", "2026-12-04T02:00:00Z")


IDS = ("2026-12-01T02:00:00Z", "2026-12-02T02:00:00Z", "2026-12-02T02:00:00Z-1",
       "2026-12-03T02:00:00Z")  # fmt: skip


@pytest.mark.parametrize(
    ("retention", "pruned"),
    [
        (0, []),
        (4, []),
        (9, []),
        (3, ["2026-12-01T02:00:00Z"]),
        (1, ["2026-12-01T02:00:00Z", "2026-12-02T02:00:00Z", "2026-12-02T02:00:00Z-1"]),
    ],
)
def test_retention_prunes_the_oldest(retention: int, pruned: list[str]) -> None:
    assert B.to_prune(tuple(reversed(IDS)), retention) == pruned


def test_a_negative_retention_is_refused() -> None:
    with pytest.raises(ValueError, match="whole number"):
        B.to_prune(IDS, -1)


def test_an_id_sorts_by_time_then_counter() -> None:
    assert sorted(["2026-12-02T02:00:00Z-10", "2026-12-02T02:00:00Z-2", "2026-12-02T02:00:00Z"],
                  key=B.id_key) == ["2026-12-02T02:00:00Z", "2026-12-02T02:00:00Z-2",
                                    "2026-12-02T02:00:00Z-10"]  # fmt: skip
    with pytest.raises(ValueError):
        B.id_key("yesterday")
