"""Wiring only: install the snap once, then reconcile on every hook (lib/etcd_charm/charm.py
observes, lib/etcd_charm/plan.py decides).

Reconcile relies on its handler running in every hook: charms.reactive (1.5.3, pinned in
charm-requirements.txt) re-invokes every handler whose flags match in each dispatch ("all
matching handlers are re-invoked for every hook and action", ``charms.reactive.bus.dispatch``),
so ``reconcile`` runs in every hook once ``etcd.snap.installed`` is set. Not in
``meter-status-changed`` and ``collect-metrics`` (its restricted mode runs ``@hook`` handlers
only): the charm declares no metrics, so Juju never runs them.

Flags (charms.reactive keeps each as the unit storage key ``reactive.states.<flag>``):

- ``etcd.snap.installed``: this charm installed etcd (the snap), or adopted a unit whose etcd
  runs from the snap. Not ``etcd.installed``: the deb-era charm set that flag when it installed
  the ``etcd`` package, and it stays set on a unit refreshed from it, so it would skip the
  install that holds the package until the snap-upgrade action migrates it. This charm's own
  revisions before issue 17 set ``etcd.installed`` too (with the snap): such a unit is adopted
  without installing, told apart by the snap and this unit's storage
  (:func:`etcd_charm.install.must_install`). ``etcd.installed`` is left as it is (a refresh
  back to an older revision finds it).
"""

from charms.reactive import get_flags, set_flag, when, when_not

from etcd_charm.charm import EtcdCharm
from etcd_charm.install import INSTALLED


@when_not(INSTALLED)
def install_etcd() -> None:
    if EtcdCharm().install(get_flags()):
        set_flag(INSTALLED)


@when(INSTALLED)
def reconcile() -> None:
    EtcdCharm().reconcile()
