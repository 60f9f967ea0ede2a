"""The coordination protocol written down: every key the charm writes or reads between units
and hooks, in one table (:data:`PROTOCOL`): who writes it, who reads it, what it means, when it
is cleared. Pure data; ``docs/protocol.md`` is rendered from it (:func:`render_markdown`) and
``unit_tests/test_protocol.py`` fails when the code reads or writes a key the table does not
list, or the table lists one the code no longer uses.

Scopes: ``peer unit`` (each unit's bucket on the peer relation ``cluster``, written through the
``etcd`` interface's peers endpoint), ``leader`` (leader settings: only the Juju leader writes,
every unit reads), ``db`` and ``proxy`` (this unit's bucket on the client relations, for the
client charms), ``unit storage`` (charmhelpers' unitdata on this unit only: what one hook
leaves for the next). The structured values (``joining``, ``founders``, ...) are decoded in
:mod:`.state`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scope = Literal["peer unit", "leader", "db", "proxy", "unit storage"]

#: each scope, in the order the table lists them, and where its keys live
SCOPES: dict[str, str] = {
    "peer unit": "each unit's bucket on the peer relation `cluster` (interface etcd)",
    "leader": "leader settings: the Juju leader writes, every unit reads",
    "db": "each etcd unit's bucket on every `db` relation (interface etcd, for clients)",
    "proxy": "each etcd unit's bucket on every `proxy` relation (interface etcd-proxy)",
    "unit storage": "charmhelpers' unitdata on the unit itself (from one hook to the next)",
}


@dataclass(frozen=True)
class Key:
    scope: Scope
    name: str
    writer: str
    readers: str
    meaning: str
    cleared: str
    #: no code of this charm reads it: it is there for other charms (clients, the charm we
    #: replace); the drift test checks this both ways
    external: bool = False


# The table keeps one key per paragraph (black would spread each over nine lines).
# fmt: off
PROTOCOL: tuple[Key, ...] = (
    Key("peer unit", "member-name", "every unit, each hook (and snap-upgrade after a migration)",
        "the leader: the founders' initial cluster, AddLearner's member name",
        "the etcd member name (the unit name without `/`); absent: derived from the unit name",
        "never: fixed for the unit's life"),
    Key("peer unit", "peer-url", "every unit, each hook",
        "the leader: founders, AddLearner, matching learners and members to units",
        "`https://<cluster address>:<peer port>`", "never (follows the cluster binding)"),
    Key("peer unit", "client-url", "every unit, each hook",
        "every unit (etcdctl endpoints of started peers); actions (the endpoints they try)",
        "`https://<db address>:<port>`, where clients reach the unit's member",
        "never (follows the db binding and the port option)"),
    Key("peer unit", "ready", "every unit, each hook (plan.announced: never a founder of the "
        "cluster that runs)",
        "the leader: only ready units are added as learners (the founders are the units with a "
        "peer URL)",
        '"true" once the cluster exists and the unit, no founder of it, has its certificates '
        '(can start a member), else ""',
        '"" while certificates are missing'),
    Key("peer unit", "member-id", "every unit once its member started (restore, snap-upgrade)",
        "the leader (Promote when it equals `joining`'s, grants, upgrade counts); every unit "
        "(endpoints, update-status cache check); actions (which peers have started)",
        "the unit's etcd member id, hex", '"" when its member is gone (left, discarded)'),
    Key("peer unit", "restart-request", "every unit whose member runs and whose desired config "
        "differs from the applied",
        "the leader: GrantRestart, ClearRestartGrant",
        "hash of the config and certificates the unit wants to restart into",
        '"" once restarted (or upgraded); the restore action clears the leader\'s'),
    Key("peer unit", "version", "every unit, each hook",
        "decoded with the rest; only the unit's own value is used (snapshot file names)",
        "the installed etcd version", "never (follows the snap)"),
    Key("peer unit", "channel", "every unit, each hook",
        "the leader: upgrade_pending, progress, ClearUpgradeGrant",
        "the snap channel the unit tracks", "never (follows the snap)"),
    Key("peer unit", "revision", "every unit, each hook",
        "the leader: an in-track refresh's upgrade_pending, progress, ClearUpgradeGrant; the "
        "refresh action (who is on the store's revision)",
        'the installed snap revision ("516"; "x1" from a file)', "never (follows the snap)"),
    Key("peer unit", "upgrade-error", "a unit whose upgrade failed (from unit storage)",
        "the leader: Blocked (upgrade stopped), ClearUpgradeGrant",
        "why the unit's upgrade to the target channel (or refresh revision) failed",
        "when the channel option changes or the unit tracks the target; for a refresh, when "
        "it ends, runs again or the unit is on its revision"),
    Key("peer unit", "db-ingress-address", "every unit, each hook (and snap-upgrade)",
        "a unit taking over layer-etcd's member (a peer still on layer-etcd publishes only "
        "this: its member's client address); otherwise layer-etcd's key, kept for "
        "compatibility",
        "the unit's address on the db binding", "never"),

    Key("leader", "token", "the leader: Found (new unless one is recorded), a package "
        "install's cluster (its token), the restore action (new)",
        "every unit: founders are current only for it; StartJoining's cluster token",
        "the initial cluster token of the cluster that runs now",
        "never; replaced by a restore"),
    Key("leader", "bootstrapped", "the leader: Found (with `founders`, one write), Bootstrapped "
        "(founders an earlier revision recorded without it), a package install's cluster, "
        "layer-etcd's cluster (its `cluster` and `token`: takeover), restore",
        "every unit: founding rules until set, then the running cluster's rules",
        "the name of a founding member: the cluster exists (nothing bootstraps over it)",
        "never; replaced by a restore"),
    Key("leader", "founders", "the leader: Found",
        "every unit: StartFounding, whether to publish `ready`; the leader: "
        "Bootstrap, Bootstrapped",
        'JSON {"token", "initial-cluster"}: the members the cluster is founded with',
        "by the restore action; otherwise kept (ignored once `token` differs)"),
    Key("leader", "joining", "the leader: AddLearner, RecordJoining",
        "the unit it names (StartJoining); the leader (rules 2-3); every unit (update-status "
        "cache)", 'JSON {"unit", "name", "member-id", "peer-url", "initial-cluster"}: the '
        "learner added and not promoted yet",
        "by the leader after Promote, ClearJoining, RemoveStaleLearner; by the restore action"),
    Key("leader", "restart-grant", "the leader: GrantRestart",
        "the unit it names (Restart); the leader; every unit (update-status cache)",
        "the one unit allowed to restart now",
        "by the leader once the unit no longer asks or is gone; by the restore action"),
    Key("leader", "upgrade-grant", "the leader: GrantUpgrade",
        "the unit it names (Upgrade); every unit (upgrade status)",
        "the one unit allowed to refresh its snap now",
        "by the leader when the unit is on the target, failed or gone; by the restore action"),
    Key("leader", "refresh-target", "the refresh action (on the leader)",
        "the leader: upgrade_pending, GrantUpgrade, ClearRefresh; every unit: Upgrade "
        "(--revision), upgrade status",
        'an in-track refresh: {"channel", "revision", "version", "started"} (JSON): every '
        "started unit tracking that channel refreshes to that store revision, one at a time",
        "by the leader once every unit is on it or a channel upgrade supersedes it (ClearRefresh)"),
    Key("leader", "upgrade-progress", "the leader, with upgrade-grant",
        "every unit (upgrade status)", '"position/total" of the unit granted the upgrade',
        "with upgrade-grant"),
    Key("leader", "restored", "the restore action (on the leader); recover-from-volume",
        "every unit: a started member with another token discards its data and rejoins",
        "the token of the cluster the restore created (recover-from-volume: of the cluster "
        "brought back from the volume, which `token` becomes too)",
        "never; replaced by the next restore (equal to `token` once done)"),
    Key("leader", "quarantine", "the restore action (on the leader), when other units exist",
        "every unit: etcd serves clients on the quarantine port, db and proxy data is "
        "withheld; the leader: LiftQuarantine",
        "the token of the restored cluster whose clients are quarantined (quarantine.py)",
        "by the leader (LiftQuarantine) once every unit runs a healthy voter of it; "
        "replaced by the next restore"),
    Key("leader", "cluster", "the leader: Found, Bootstrapped, restore",
        "the leader, without `bootstrapped`: layer-etcd's cluster exists (takeover); "
        "otherwise layer-etcd's key, kept for compatibility",
        "the initial cluster at bootstrap (not updated as members join or leave)",
        "never; replaced by a restore"),
    Key("leader", "leader_address", "the leader: Found (when it is a founder), Bootstrapped (when "
        "it runs a member), restore",
        "a unit taking over layer-etcd's member (one more member to ask for the member "
        "list); otherwise layer-etcd's key, kept for compatibility",
        "the client URL of the member that bootstrapped", "never; replaced by a restore"),
    Key("leader", "snapd_refresh", "the leader, each hook (from the snapd_refresh option)",
        "every unit: sets snapd's refresh.timer", 'the refresh timer ("max": computed once)',
        "never (follows the option)"),

    Key("db", "connection_string", "every unit with a member list and its certificates",
        "the client charms", "every voting member's client URL, sorted, comma-separated",
        "never (updated)", external=True),
    Key("db", "version", "every unit, with connection_string", "the client charms",
        "the installed etcd version", "never (updated)", external=True),
    Key("db", "client_cert", "every unit, with connection_string", "the client charms",
        "the client certificate (PEM)", "never (updated)", external=True),
    Key("db", "client_key", "every unit, with connection_string", "the client charms",
        "the client certificate's key (PEM)", "never (updated)", external=True),
    Key("db", "client_ca", "every unit, with connection_string", "the client charms",
        "the CA certificate (PEM)", "never (updated)", external=True),

    Key("proxy", "cluster", "every unit with a member list and its certificates",
        "the etcd proxies", "name=peer-url of every started member, comma-separated",
        "never (updated)", external=True),
    Key("proxy", "client_cert", "every unit, with cluster", "the etcd proxies",
        "the client certificate (PEM)", "never (updated)", external=True),
    Key("proxy", "client_key", "every unit, with cluster", "the etcd proxies",
        "the client certificate's key (PEM)", "never (updated)", external=True),
    Key("proxy", "client_ca", "every unit, with cluster", "the etcd proxies",
        "the CA certificate (PEM)", "never (updated)", external=True),

    Key("unit storage", "etcd.started", "the start of a member; leave, discard, undo (False)",
        "install, reconcile, the actions", "this unit's etcd runs as a member",
        "set False when the member leaves, is discarded for a restore or a migration is undone"),
    Key("unit storage", "etcd.member-id", "the start of a member (a failed restore puts "
        "the previous back)", "reconcile, leave, the etcdctl endpoints, the actions",
        "this unit's member id", "when discarded for a restore or a migration is undone"),
    Key("unit storage", "etcd.bootstrap", "the start of a member",
        "config rendering; the restore rule (its token)",
        '{"initial_cluster", "token", "state"} the member first started with',
        "when discarded for a restore or a migration is undone"),
    Key("unit storage", "etcd.applied-hash", "start, restart, upgrade",
        "reconcile (restart-request), the upgrade", "hash of the config etcd runs with",
        "when discarded for a restore or a migration is undone"),
    Key("unit storage", "etcd.members-cache", "every hook that lists the members",
        "update-status on a quiet cluster; status when no member answers",
        "the last member list (etcdctl JSON)",
        "when discarded for a restore or a migration is undone"),
    Key("unit storage", "etcd.quiet", "every full reconcile: set when it ends healthy with "
        "nothing in flight (the verdict, raft term, endpoints, when), cleared otherwise; "
        "every action clears it",
        "update-status (quiet.py): the same verdict in the same term within an hour, and the "
        "status stands without a full reconcile",
        "what the last full reconcile saw of a quiet, healthy cluster",
        "by any full reconcile or action that does not end quiet; when discarded for a "
        "restore or a migration is undone"),
    Key("unit storage", "etcd.idle-inputs", "every full reconcile: set when it ends on a unit "
        "that is not the leader and either runs no member and waits for its certificates "
        "(waiting) or runs a member with its certificates and asks for no restart (settled; "
        "idle.py), cleared otherwise; every action clears it",
        "the hooks of idle.MODE_HOOKS for the recorded mode, before the framework loads "
        "(entry.py): the same inputs again end the hook at once",
        "the mode, and a digest of what the hook tools said of the configuration, the "
        "addresses, leader settings and the certificates relation (without the CA's answers "
        "to other units)",
        "by any full reconcile that ends neither waiting nor settled, and by actions"),
    Key("unit storage", "etcd.left", "leave (cluster-relation-departed of this unit)",
        "reconcile: a unit that left does nothing more", "this unit removed its member",
        "never: the unit is going away"),
    Key("unit storage", "etcd.opened-port", "status (open-port)",
        "status (close the ports no longer used)",
        "the ports opened: the client port, and metrics_port when set (a list; an int from "
        "earlier revisions)", "never (replaced)"),
    Key("unit storage", "etcd.founding-since", "the leader while it waits for units to found",
        "the leader (FOUNDING_WAIT)", "when the leader began waiting (epoch seconds)",
        "when the leader founds the cluster, and by any hook that finds no founding wait (not "
        "the leader, not ready, founded, or no unit pending)"),
    Key("unit storage", "etcd.upgrade-error", "the upgrade, when it fails",
        "reconcile (published as upgrade-error)",
        '{"channel", "error"} of the failed upgrade (and "revision", "refresh" of a refresh)',
        "when the channel option changes or the unit tracks the target; a refresh's when it "
        "ends, runs again or the unit is on its revision"),
    Key("unit storage", "etcd.resource-sha256", "install from the etcd resource; the install "
        "action", "the install action (nothing to do when the attached file is installed)",
        "sha256 of the etcd snap file this unit installed last", "never (replaced)"),
    Key("unit storage", "etcd.refresh-available", "the leader's update-status (snap info)",
        "the leader's status (a newer revision to refresh to)",
        '{"channel", "revision", "version"}: what the store releases in the channel the '
        "leader tracks, newer than its revision",
        "by the next update-status that finds nothing newer"),
    Key("unit storage", "etcd.taken-over", "the takeover of layer-etcd's member (once)",
        "the takeover (never twice: a member forgotten later is not taken over again)",
        '{"member-id", "restart"}: the earlier charm\'s member this unit took over, and '
        "whether its configuration waited for a restart grant",
        "never"),
    Key("unit storage", "etcd.refresh-timer", "each hook, once snapd took the timer",
        "each hook (set snapd's timer only when it changed)",
        "the refresh timer last given to snapd", "never (replaced)"),
    Key("unit storage", "etcd.nrpe-registered", "each hook that registers the Nagios checks "
        "(nrpe-external-master)", "each hook (write and restart NRPE only when it changed)",
        "hash of the check definitions, Nagios host name, context, service groups and "
        "relation ids last written", "when the last nrpe-external-master relation is gone"),
    Key("unit storage", "etcd.volume", "the data-storage hooks; every hook (ready once the "
        "snap reaches it)", "config rendering (the data directory), status (a refused one)",
        '{"storage", "device", "uuid", "state", "found"}: the data volume, mounted, ready or '
        "refused, and what a refused one holds (another cluster's data: its marker's "
        '"cluster", "unit", "member", "ended", for recover-from-volume)',
        "when the volume detaches; ready again after recover-from-volume"),
    Key("unit storage", "etcd.snap-listing", "every hook or action that asks what snap is "
        "installed, after reading `snap list etcd` under an unchanged snapd state",
        "the same, while snapd's state file keeps its inode, mtime and size (workload.py)",
        'JSON {"stamp", "listing"}: the listing and the stamp of snapd\'s state it was read under',
        "by the charm's own snap commands; ignored once the stamp differs"),
    Key("unit storage", "etcd.rendered-conf", "every hook that renders etcd's config anew",
        "every hook that renders etcd's config (configure.py)",
        'JSON {"key", "conf"}: the last rendering under the hash of its template and context',
        "never (replaced; ignored once the hash differs)"),
    Key("unit storage", "etcd.backup-schedule-valid", "every hook and action, once "
        "`systemd-analyze calendar` accepted backup_schedule",
        "every hook and action (check a changed expression only)",
        "the backup_schedule expression last found valid", "never (replaced)"),
)
# fmt: on


def keys(scope: str) -> frozenset[str]:
    """The names of the keys of ``scope``."""
    return frozenset(k.name for k in PROTOCOL if k.scope == scope)


def render_markdown() -> str:
    """The table as Markdown, one section per scope (``docs/protocol.md`` includes it)."""
    out: list[str] = []
    for scope, where in SCOPES.items():
        out += [f"### {scope}", "", where + ".", ""]
        out += ["| key | written by | read by | meaning | cleared |", "|---|---|---|---|---|"]
        for k in PROTOCOL:
            if k.scope == scope:
                cells = (f"`{k.name}`", k.writer, k.readers, k.meaning, k.cleared)
                out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    return "\n".join(out)
