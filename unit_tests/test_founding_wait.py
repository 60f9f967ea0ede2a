"""The leader's bounded wait for the units it founds the cluster with: its clock
(unit storage ``etcd.founding-since``) runs only while it waits."""

from __future__ import annotations

from dataclasses import replace

from etcd_charm import plan as P
from etcd_charm.observe import founding_expired
from etcd_charm.record import KV_FOUNDING_SINCE, Record

from .test_membership import FakeKV
from .test_plan import founding, unit

WAITING = founding(unit(0), unit(1, peer_url=""))  # etcd/1 without its peer URL, etcd/2 absent


def test_the_clock_starts_then_expires() -> None:
    kv = FakeKV()
    record = Record(kv)
    assert founding_expired(record, WAITING) is False
    assert kv.values[KV_FOUNDING_SINCE] > 0
    kv.values[KV_FOUNDING_SINCE] -= P.FOUNDING_WAIT + 1
    assert founding_expired(record, WAITING) is True


def test_a_unit_that_lost_leadership_starts_a_new_wait_if_it_leads_again() -> None:
    kv = FakeKV()
    record = Record(kv)
    founding_expired(record, WAITING)
    kv.values[KV_FOUNDING_SINCE] -= P.FOUNDING_WAIT + 1  # long ago
    assert founding_expired(record, replace(WAITING, is_leader=False)) is False
    assert KV_FOUNDING_SINCE not in kv.values
    # leader again, still waiting: a fresh clock, not an expired one
    assert founding_expired(record, WAITING) is False
    assert founding_expired(record, WAITING) is False


def test_the_clock_stops_when_nothing_is_pending() -> None:
    kv = FakeKV()
    record = Record(kv)
    founding_expired(record, WAITING)
    everyone = founding(unit(0), unit(1), unit(2))
    assert founding_expired(record, everyone) is False
    assert KV_FOUNDING_SINCE not in kv.values
