"""Wiring only: install the snap once, then reconcile on every hook (lib/etcd_charm/charm.py
observes, lib/etcd_charm/plan.py decides)."""

from charms.reactive import set_flag, when, when_not

from etcd_charm.charm import EtcdCharm


@when_not("etcd.installed")
def install_etcd() -> None:
    if EtcdCharm().install():
        set_flag("etcd.installed")


@when("etcd.installed")
def reconcile() -> None:
    EtcdCharm().reconcile()
