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
- ``etcd.departing``: set in ``cluster-relation-departed`` when the departing unit is this one
  (it is being removed); the reconcile of the same hook makes its member leave the cluster and
  clears it. (A unit not installed yet keeps it until its first reconcile.)
- ``etcd.started``: this unit's etcd runs as a member of the cluster (cleared once it left,
  was discarded for a restore or is not started yet). Other layers can react to it.
- ``etcd.tls.ready``: this unit's certificates are placed (cleared while they are missing;
  left as it is by a hook that did not look: invalid config, a unit that left).
- ``etcd.cluster.healthy``: the last hook that checked found the cluster healthy from this
  unit ("Healthy with N known peers": its member answers, every member is up, no alarm);
  cleared by one that found otherwise, left as it is by a hook that did not look (invalid
  config, a unit that left, a refused channel).

The unit storage key ``etcd.started`` (:mod:`etcd_charm.record`) is another key than the flag
(``reactive.states.etcd.started``); the flag follows it at the end of every reconcile.
"""

from charmhelpers.core import hookenv
from charms.reactive import (
    clear_flag,
    get_flags,
    hook,
    is_flag_set,
    set_flag,
    toggle_flag,
    when,
    when_not,
)

from etcd_charm.flags import INSTALLED

DEPARTING = "etcd.departing"
STARTED = "etcd.started"
TLS_READY = "etcd.tls.ready"
HEALTHY = "etcd.cluster.healthy"


@when_not(INSTALLED)
def install_etcd() -> None:
    from etcd_charm.charm import EtcdCharm

    if EtcdCharm().install(get_flags()):
        set_flag(INSTALLED)


@hook("cluster-relation-departed")
def departing(*_cluster: object) -> None:
    # @hook handlers run in a dispatch's first phase, the @when ones after (1.5.3's
    # bus.dispatch): reconcile sees the flag in the same hook. @hook passes the endpoint.
    if hookenv.departing_unit() == hookenv.local_unit():
        set_flag(DEPARTING)


@hook("data-storage-attached")
def data_attached() -> None:
    from etcd_charm.charm import EtcdCharm

    EtcdCharm().storage_attached()


@hook("data-storage-detaching")
def data_detaching() -> None:
    from etcd_charm.charm import EtcdCharm

    EtcdCharm().storage_detaching()


@when(INSTALLED)
def reconcile() -> None:
    if hookenv.hook_name() == "update-status":
        from etcd_charm import quiet

        if quiet.update_status():
            return  # the cluster is as the last full reconcile saw it: the status stands
    from etcd_charm.charm import EtcdCharm  # imported here: the quiet path does not need it

    raised = EtcdCharm().reconcile(leaving=is_flag_set(DEPARTING), flags=get_flags())
    clear_flag(DEPARTING)
    toggle_flag(STARTED, raised.started)
    if raised.tls_ready is not None:
        toggle_flag(TLS_READY, raised.tls_ready)
    if raised.healthy is not None:
        toggle_flag(HEALTHY, raised.healthy)
