"""Conformance of the local model to Juju 3 over a unit's life, with the hooklog test charm.

The spec's sections 1 and 3 (hook environment, install sequence of an added unit, leadership
settings, application buckets, commit on success, the remote-data cache, refresh, teardown,
missing and invalid hook handlers, the uniter's own statuses), checked on what the charm
really saw: its hook log on the machine, and its own ``juju-log`` lines in the debug log for
a unit whose machine is gone.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jubilant
import pytest

from .conftest import HOOKLOG

pytestmark = pytest.mark.integration

#: What Juju 3 gives a hook process (spec 1.3), and nothing else; dash adds PWD.
HOOK_ENV = {
    "CHARM_DIR", "JUJU_CHARM_DIR", "JUJU_CONTEXT_ID", "JUJU_HOOK_NAME",
    "JUJU_AGENT_SOCKET_ADDRESS", "JUJU_AGENT_SOCKET_NETWORK", "JUJU_UNIT_NAME",
    "JUJU_MODEL_UUID", "JUJU_MODEL_NAME", "JUJU_API_ADDRESSES", "JUJU_SLA", "JUJU_MACHINE_ID",
    "JUJU_PRINCIPAL_UNIT", "JUJU_AVAILABILITY_ZONE", "JUJU_VERSION", "CLOUD_API_VERSION",
    "JUJU_CHARM_HTTP_PROXY", "JUJU_CHARM_HTTPS_PROXY", "JUJU_CHARM_FTP_PROXY",
    "JUJU_CHARM_NO_PROXY", "APT_LISTCHANGES_FRONTEND", "DEBIAN_FRONTEND", "LANG", "TERM", "PATH",
    "JUJU_DISPATCH_PATH", "PWD",
}  # fmt: skip
RELATION_ENV = {"JUJU_RELATION", "JUJU_RELATION_ID", "JUJU_REMOTE_UNIT", "JUJU_REMOTE_APP"}
BRIEF = re.compile(r"^unit-(?P<unit>\S+): \S+ \S+ \S+ (?:\S+:\d+: )?hooklog: (?P<json>\{.*\})$")


def hook_log(juju: jubilant.Juju, unit: str) -> list[dict[str, Any]]:
    task = juju.exec("cat /var/lib/hooklog/hooks.log", unit=unit)
    return [json.loads(line) for line in task.stdout.splitlines() if line.strip()]


def hooks(juju: jubilant.Juju, unit: str) -> list[str]:
    return [e["hook"] for e in hook_log(juju, unit)]


def logged(juju: jubilant.Juju, unit: str) -> list[dict[str, Any]]:
    """The hooks the unit ran, from its own juju-log lines (outlives its machine)."""
    tag = unit.replace("/", "-")
    found = []
    for line in juju.debug_log(limit=1_000_000).splitlines():
        m = BRIEF.match(line)
        if m and m["unit"] == tag:
            found.append(json.loads(m["json"]))
    return found


def units_of(juju: jubilant.Juju, app: str) -> dict[str, Any]:
    return juju.status().apps[app].units


def leader_of(juju: jubilant.Juju, app: str) -> str:
    return next(n for n, u in units_of(juju, app).items() if u.leader)


def since(juju: jubilant.Juju, unit: str, mark: int) -> list[dict[str, Any]]:
    return hook_log(juju, unit)[mark:]


def wait_for(juju: jubilant.Juju, pred: Callable[[], bool], timeout: float = 90) -> None:
    juju.wait(lambda _: pred(), timeout=timeout, delay=0.5)


def changed_with(entries: list[dict[str, Any]], hook: str, remote: str, key: str) -> bool:
    return any(
        e["hook"] == hook
        and e["env"].get("JUJU_REMOTE_UNIT") == remote
        and key in (e.get("remote_data") or {})
        for e in entries
    )


@pytest.fixture(scope="module")
def model(juju: jubilant.Juju) -> jubilant.Juju:
    juju.deploy(HOOKLOG, "hl", num_units=2)
    juju.deploy(HOOKLOG, "other")
    juju.integrate("hl:db", "other:client")

    def settled() -> bool:
        seen = {e["env"]["JUJU_REMOTE_UNIT"] for e in hook_log(juju, "other/0")
                if e["hook"] == "client-relation-changed"}  # fmt: skip
        return {"hl/0", "hl/1"} <= seen

    juju.wait(lambda s: jubilant.all_active(s) and settled(), timeout=180)
    return juju


def test_hook_environment_is_exactly_juju_s(model: jubilant.Juju) -> None:
    juju = model
    log = hook_log(juju, "hl/0")
    install = log[0]
    assert install["hook"] == "install"
    assert set(install["env_keys"]) == HOOK_ENV
    env = install["env"]
    base = "/var/lib/juju/agents/unit-hl-0"
    assert env["JUJU_CHARM_DIR"] == env["CHARM_DIR"] == f"{base}/charm" == install["cwd"]
    assert env["JUJU_AGENT_SOCKET_ADDRESS"] == f"{base}/agent.socket"
    assert env["JUJU_AGENT_SOCKET_NETWORK"] == "unix"
    assert env["JUJU_DISPATCH_PATH"] == "hooks/install"
    assert env["JUJU_HOOK_NAME"] == "install"
    assert re.fullmatch(r"hl/0-install-[0-9a-f]{32}", env["JUJU_CONTEXT_ID"])
    assert env["JUJU_UNIT_NAME"] == "hl/0" and env["JUJU_PRINCIPAL_UNIT"] == ""
    # Each hook gets its own context id.
    assert len({e["env"]["JUJU_CONTEXT_ID"] for e in log}) == len(log)
    # Relation hooks add exactly the relation variables; departed alone adds the departing unit.
    joined = next(e for e in log if e["hook"] == "db-relation-joined")
    assert set(joined["env_keys"]) == HOOK_ENV | RELATION_ENV
    assert joined["env"]["JUJU_RELATION"] == "db"
    assert re.fullmatch(r"db:\d+", joined["env"]["JUJU_RELATION_ID"])
    assert (joined["env"]["JUJU_REMOTE_UNIT"], joined["env"]["JUJU_REMOTE_APP"]) == (
        "other/0",
        "other",
    )
    assert joined["env"]["JUJU_DISPATCH_PATH"] == "hooks/db-relation-joined"


def test_actions_get_their_environment(model: jubilant.Juju) -> None:
    task = model.run("hl/0", "env")
    r = task.results
    assert r["hook-name"] == "" and r["action-name"] == "env"
    assert r["dispatch-path"] == "actions/env"
    assert r["action-tag"] == f"action-{r['action-uuid']}" and r["action-uuid"].isdigit()
    assert r["cwd"] == "/var/lib/juju/agents/unit-hl-0/charm"


def test_added_unit_installs_then_joins(model: jubilant.Juju) -> None:
    juju = model
    before = set(units_of(juju, "hl"))
    juju.add_unit("hl")
    wait_for(juju, lambda: len(units_of(juju, "hl")) == 3)
    new = (set(units_of(juju, "hl")) - before).pop()

    def joined_all() -> bool:
        try:
            log = hook_log(juju, new)
        except jubilant.TaskError:
            return False
        got = {(e["hook"], e["env"].get("JUJU_REMOTE_UNIT")) for e in log}
        want = {("peers-relation-changed", u) for u in before} | {
            ("db-relation-changed", "other/0")
        }
        return want <= got

    wait_for(juju, joined_all, timeout=180)
    log = hook_log(juju, new)
    seq = [e["hook"] for e in log]
    # install -> relation-created for every relation (peer included, either order) ->
    # leader-settings-changed -> config-changed -> start; then the joins.
    assert seq[0] == "install"
    assert sorted(seq[1:3]) == ["db-relation-created", "peers-relation-created"]
    rest = seq[3:]
    assert rest[0] == "leader-settings-changed"
    head = [h for h in rest if h != "leader-settings-changed"]
    assert head[:2] == ["config-changed", "start"]
    for e in log[1:3]:
        assert e["env"]["JUJU_REMOTE_UNIT"] == "" and e["env"]["JUJU_REMOTE_APP"]
    # Each joined is followed, on its relation, by changed for the same unit.
    for i, e in enumerate(log):
        if e["hook"].endswith("-relation-joined"):
            rid = e["env"]["JUJU_RELATION_ID"]
            nxt = next(x for x in log[i + 1 :] if x["env"].get("JUJU_RELATION_ID") == rid)
            assert nxt["hook"].endswith("-relation-changed")
            assert nxt["env"]["JUJU_REMOTE_UNIT"] == e["env"]["JUJU_REMOTE_UNIT"]
    # The other side saw it join, then change.
    other = [e for e in hook_log(juju, "other/0") if e["env"].get("JUJU_REMOTE_UNIT") == new]
    assert [e["hook"] for e in other[:2]] == ["client-relation-joined", "client-relation-changed"]


def test_ports_are_kept_per_endpoint(model: jubilant.Juju) -> None:
    juju = model
    juju.exec("open-port 9000/tcp --endpoints db", unit="hl/0")
    shown = juju.exec("opened-ports --endpoints", unit="hl/0").stdout.splitlines()
    assert sorted(shown) == ["8080/tcp (*)", "9000/tcp (db)"]
    assert juju.status().apps["hl"].units["hl/0"].open_ports == ["8080/tcp", "9000/tcp"]
    with pytest.raises(jubilant.TaskError) as exc:
        juju.exec("close-port 9000/tcp --endpoints nope", unit="hl/0")
    assert 'endpoint "nope" not found' in exc.value.task.stderr
    juju.exec("close-port 9000/tcp --endpoints db", unit="hl/0")
    assert juju.exec("opened-ports --endpoints", unit="hl/0").stdout == "8080/tcp (*)\n"
    assert juju.status().apps["hl"].units["hl/0"].open_ports == ["8080/tcp"]


def test_leader_set_wakes_the_followers_only(model: jubilant.Juju) -> None:
    juju = model
    leader = leader_of(juju, "hl")
    followers = [u for u in units_of(juju, "hl") if u != leader]
    marks = {u: len(hook_log(juju, u)) for u in units_of(juju, "hl")}
    juju.exec("leader-set probe=41", unit=leader)
    for u in followers:

        def woke(u: str = u) -> bool:
            return "leader-settings-changed" in [e["hook"] for e in since(juju, u, marks[u])]

        wait_for(juju, woke)
        assert juju.exec("leader-get probe", unit=u).stdout == "41\n"
    assert "leader-settings-changed" not in [e["hook"] for e in since(juju, leader, marks[leader])]


def test_application_bucket_changes(model: jubilant.Juju) -> None:
    juju = model
    leader = leader_of(juju, "hl")
    followers = [u for u in units_of(juju, "hl") if u != leader]
    marks = {u: len(hook_log(juju, u)) for u in [*units_of(juju, "hl"), "other/0"]}
    juju.run(leader, "set-data", {"key": "appk", "value": "v1", "app": True})

    def app_changed(unit: str, hook: str) -> list[dict[str, Any]]:
        return [
            e for e in since(juju, unit, marks[unit])
            if e["hook"] == hook and e["env"]["JUJU_REMOTE_UNIT"] == ""
            and (e.get("remote_app_data") or {}).get("appk") == "v1"
        ]  # fmt: skip

    wait_for(juju, lambda: bool(app_changed("other/0", "client-relation-changed")))
    e = app_changed("other/0", "client-relation-changed")[0]
    assert e["env"]["JUJU_REMOTE_APP"] == "hl"
    for u in followers:  # the peers see their own application's bucket change

        def peer_changed(u: str = u) -> bool:
            return bool(app_changed(u, "peers-relation-changed"))

        wait_for(juju, peer_changed)
    # never the writer itself
    assert not [
        e for e in since(juju, leader, marks[leader])
        if e["hook"].endswith("-relation-changed") and e["env"]["JUJU_REMOTE_UNIT"] == ""
    ]  # fmt: skip
    # A follower may not write it: the action fails on relation-set's refusal.
    with pytest.raises(jubilant.TaskError) as exc:
        juju.run(followers[0], "set-data", {"key": "appk", "value": "v2", "app": True})
    assert exc.value.task.status == "failed"
    assert "cannot write relation settings" in exc.value.task.stderr


def test_action_commits_only_when_it_exits_zero(model: jubilant.Juju) -> None:
    juju = model
    unit = next(u for u in units_of(juju, "hl") if u != leader_of(juju, "hl"))
    mark = len(hook_log(juju, "other/0"))
    with pytest.raises(jubilant.TaskError) as exc:
        juju.run(unit, "set-data", {"key": "lost", "value": "x", "exit-code": 1})
    assert exc.value.task.status == "failed"
    assert exc.value.task.message == "exit status 1"
    assert exc.value.task.results["relations"] == "2"  # action-set results are kept
    juju.run(unit, "set-data", {"key": "kept", "value": "y"})
    wait_for(juju, lambda: changed_with(since(juju, "other/0", mark),
                                        "client-relation-changed", unit, "kept"))  # fmt: skip
    seen = [e for e in since(juju, "other/0", mark) if e["env"].get("JUJU_REMOTE_UNIT") == unit]
    assert all("lost" not in (e.get("remote_data") or {}) for e in seen)
    rid = juju.exec("relation-ids client", unit="other/0").stdout.strip()
    assert juju.exec(f"relation-get -r {rid} lost {unit}", unit="other/0").stdout == ""


def test_remote_data_is_cached_until_the_unit_s_next_hook(model: jubilant.Juju) -> None:
    """Remote unit settings read in a hook stay what a later context sees until a
    joined/changed hook for that unit runs (Juju's relation cache); actions and exec still run
    while the unit's failed hook blocks every other hook."""
    juju = model
    juju.model_config({"automatically-retry-hooks": False})
    try:
        juju.config("other", {"fail-hooks": "client-relation-changed"})
        writer, blocked = sorted(u for u in units_of(juju, "hl"))[:2]
        juju.run(writer, "set-data", {"key": "first", "value": "1"})
        juju.wait(lambda s: s.apps["other"].units["other/0"].workload_status.current == "error",
                  timeout=60)  # fmt: skip
        status = juju.status().apps["other"].units["other/0"]
        assert status.workload_status.message == 'hook failed: "client-relation-changed"'
        # The other unit writes; other/0 cannot run its changed hook, so it still sees the
        # value cached when that unit's last hook ran (no "second").
        juju.run(blocked, "set-data", {"key": "second", "value": "2"})
        rid = juju.exec("relation-ids client", unit="other/0").stdout.strip()
        assert juju.exec(f"relation-get -r {rid} second {blocked}", unit="other/0").stdout == ""
        # An action runs although a hook failed.
        assert juju.run("other/0", "echo", {"text": "still here"}).results["text"] == "still here"
        juju.config("other", {"fail-hooks": ""})
        juju.cli("resolved", "other/0")

        def caught_up() -> bool:
            got = juju.exec(f"relation-get -r {rid} second {blocked}", unit="other/0").stdout
            return got == "2\n"

        wait_for(juju, caught_up)
        assert changed_with(hook_log(juju, "other/0"), "client-relation-changed", blocked,
                            "second")  # fmt: skip
    finally:
        juju.config("other", {"fail-hooks": ""})
        juju.model_config({"automatically-retry-hooks": True})
    juju.wait(jubilant.all_active, timeout=120)


def test_refresh_runs_upgrade_charm_then_config_changed(model: jubilant.Juju) -> None:
    juju = model
    marks = {u: len(hook_log(juju, u)) for u in units_of(juju, "hl")}
    juju.refresh("hl", path=HOOKLOG)

    def upgraded(u: str) -> bool:
        seq = [e["hook"] for e in since(juju, u, marks[u])]
        return "upgrade-charm" in seq and "config-changed" in seq

    for u in marks:
        wait_for(juju, functools.partial(upgraded, u))
        seq = [e["hook"] for e in since(juju, u, marks[u])]
        seq = [h for h in seq if h not in ("update-status", "leader-settings-changed")]
        assert seq[:2] == ["upgrade-charm", "config-changed"]
        assert "start" not in seq and not [h for h in seq if "-relation-" in h]


def test_a_unit_down_during_a_refresh_runs_its_old_charm_until_upgrade_charm(
    model: jubilant.Juju,
) -> None:
    """A machine stopped across a refresh: when it starts, the reboot's start hook (and any
    leadership hook due) runs the charm the unit had; the upgrade operation then puts the new
    charm in place and runs upgrade-charm with it (resolver.go: the reboot resolver comes
    before the upgrade; the charm is deployed by the upgrade operation)."""
    juju = model
    victim = next(u for u in sorted(units_of(juju, "hl")) if not units_of(juju, "hl")[u].leader)
    machine = units_of(juju, "hl")[victim].machine
    juju.wait(lambda s: s.apps["hl"].units[victim].juju_status.current == "idle", delay=0.2)
    entries = hook_log(juju, victim)
    before, mark = entries[-1]["revision"], len(entries)
    juju.cli("stop-machine", machine)
    juju.refresh("hl", path=HOOKLOG)
    juju.cli("start-machine", machine)

    def upgraded() -> bool:
        try:  # juju exec fails until the machine's agent is back
            return "config-changed" in [e["hook"] for e in since(juju, victim, mark)]
        except jubilant.CLIError:
            return False

    wait_for(juju, upgraded)
    ran = [(e["hook"], e["revision"]) for e in since(juju, victim, mark)]
    upgrade = [h for h, _ in ran].index("upgrade-charm")
    after = ran[upgrade][1]
    assert after != before and int(after) > int(before)
    assert ran[0] == ("start", before), ran  # the reboot's start hook: the old charm
    assert all(rev == before for _, rev in ran[:upgrade]), ran
    assert all(rev == after for _, rev in ran[upgrade:]), ran


def test_removed_unit_tears_down_in_juju_s_order(model: jubilant.Juju) -> None:
    juju = model
    leader = leader_of(juju, "hl")
    victim = max((u for u in units_of(juju, "hl") if u != leader), key=lambda u: int(u[3:]))
    peers = sorted(u for u in units_of(juju, "hl") if u != victim)
    mark = len(hook_log(juju, "other/0"))
    juju.remove_unit(victim)
    juju.wait(lambda s: victim not in s.apps["hl"].units, timeout=120)

    # The leaving unit: departed for every remote unit (itself departing), broken for the
    # non-peer relation only, then stop, then remove, the last hook it ever runs.
    seen = logged(juju, victim)
    first = next(i for i, e in enumerate(seen) if e["hook"].endswith("-relation-departed"))
    tail = seen[first:]
    names = [e["hook"] for e in tail]
    assert names[-2:] == ["stop", "remove"]
    departed = [e for e in tail if e["hook"].endswith("-relation-departed")]
    assert sorted((e["hook"], e["env"]["JUJU_REMOTE_UNIT"]) for e in departed) == sorted(
        [("peers-relation-departed", p) for p in peers] + [("db-relation-departed", "other/0")]
    )
    assert all(e["env"]["JUJU_DEPARTING_UNIT"] == victim for e in departed)
    assert all(e["env"]["JUJU_REMOTE_UNIT"] not in e["relation_list"] for e in departed)
    assert names.count("db-relation-broken") == 1 and "peers-relation-broken" not in names
    assert names.index("db-relation-broken") > names.index("db-relation-departed")
    broken = tail[names.index("db-relation-broken")]
    assert broken["env"]["JUJU_REMOTE_UNIT"] == "" and broken["env"]["JUJU_REMOTE_APP"] == "other"
    assert "JUJU_DEPARTING_UNIT" not in broken["env"]
    assert names.index("stop") > names.index("db-relation-broken")
    assert names.index("stop") > max(i for i, n in enumerate(names) if n.endswith("-departed"))

    # The units that stay: departed for it, with its data still readable, gone from the list.
    after = since(juju, "other/0", mark)
    gone = [e for e in after if e["hook"] == "client-relation-departed"]
    assert len(gone) == 1
    e = gone[0]
    assert (e["env"]["JUJU_REMOTE_UNIT"], e["env"]["JUJU_DEPARTING_UNIT"]) == (victim, victim)
    assert victim not in e["relation_list"]
    assert e["remote_data"].get("joined-other-0") == "yes"
    for p in peers:
        dep = [x for x in hook_log(juju, p) if x["hook"] == "peers-relation-departed"]
        assert dep and dep[-1]["env"]["JUJU_REMOTE_UNIT"] == victim
        assert dep[-1]["env"]["JUJU_DEPARTING_UNIT"] == victim


def test_a_dead_leader_s_lease_expires(model: jubilant.Juju) -> None:
    """The leader's machine crashes: its lease is not renewed, so after the lease time another
    unit is elected (leader-elected there). Back up, the old leader only learns it lost."""
    juju = model
    juju.model_config({"localjuju-lease-duration": "3s"})
    try:
        old = leader_of(juju, "hl")
        heir = next(u for u in units_of(juju, "hl") if u != old)
        mark, old_mark = len(hook_log(juju, heir)), len(hook_log(juju, old))
        machine = units_of(juju, "hl")[old].machine
        juju.cli("kill-machine", machine)
        juju.wait(lambda s: s.apps["hl"].units[heir].leader, timeout=60)
        wait_for(juju, lambda: "leader-elected" in [e["hook"] for e in since(juju, heir, mark)])
        elected = next(e for e in since(juju, heir, mark) if e["hook"] == "leader-elected")
        assert elected["leader"] is True
        juju.cli("start-machine", machine)
        juju.wait(jubilant.all_active, timeout=90)
        status = juju.status().apps["hl"].units
        assert status[heir].leader and not status[old].leader
        assert juju.exec("is-leader --format=json", unit=old).stdout.strip() == "false"
        # The heir's leader-set (hooklog records its leader) reaches the old leader as
        # leader-settings-changed; it is never elected again.
        wait_for(juju, lambda: "leader-settings-changed"
                 in [e["hook"] for e in since(juju, old, old_mark)])  # fmt: skip
        assert "leader-elected" not in [e["hook"] for e in since(juju, old, old_mark)]
        assert juju.exec("leader-get leader", unit=old).stdout == f"{heir}\n"
    finally:
        juju.model_config({"localjuju-lease-duration": "30s"})


def bare_charm(root: Path, name: str, files: dict[str, tuple[str, int]]) -> Path:
    d = root / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    (d / "metadata.yaml").write_text(
        f"name: {name}\nsummary: s\ndescription: d\nseries: [jammy]\n"
    )
    for rel, (text, mode) in files.items():
        f = d / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(textwrap.dedent(text))
        f.chmod(mode)
    return d


def test_missing_hooks_are_skipped_and_juju_sets_the_statuses(
    model: jubilant.Juju, tmp_path: Path
) -> None:
    juju = model
    charm = bare_charm(tmp_path, "bare", {
        "hooks/install": ("#!/bin/sh\njuju-log 'bare install ran'\n", 0o644),
    })  # fmt: skip
    juju.deploy(charm)
    # No status-set ever: after start Juju leaves the workload status unknown.
    juju.wait(
        lambda s: "bare" in s.apps
        and s.apps["bare"].units["bare/0"].juju_status.current == "idle"
        and s.apps["bare"].units["bare/0"].workload_status.current == "unknown",
        timeout=90,
    )
    log = juju.debug_log(limit=1_000_000)
    mine = [ln for ln in log.splitlines() if ln.startswith("unit-bare-0:")]
    text = "\n".join(mine)
    # hooks/install was made executable on unpacking (a known hook name), and ran.
    assert 'ran "install" hook (via explicit, bespoke hook script)' in text
    assert "bare install ran" in text
    for hook in ("config-changed", "start"):
        assert f'skipped "{hook}" hook (missing)' in text
        assert f'ran "{hook}" hook' not in text
    juju.remove_application("bare")
    juju.wait(lambda s: "bare" not in s.apps, timeout=90)
    log = juju.debug_log(limit=1_000_000)
    assert 'skipped "remove" hook (missing)' in log


def test_a_dispatch_that_is_not_executable_fails_the_hook(
    model: jubilant.Juju, tmp_path: Path
) -> None:
    juju = model
    charm = bare_charm(tmp_path, "broken", {
        "dispatch": ("#!/bin/sh\nexit 0\n", 0o644),
        "hooks/install": ("#!/bin/sh\nexit 0\n", 0o755),
    })  # fmt: skip
    juju.deploy(charm)
    juju.wait(
        lambda s: "broken" in s.apps
        and s.apps["broken"].units["broken/0"].workload_status.current == "error",
        timeout=90,
    )
    unit = juju.status().apps["broken"].units["broken/0"]
    assert unit.workload_status.message == 'hook failed: "install"'
    log = juju.debug_log(limit=1_000_000)
    assert (
        'hook "install" (via unknown/invalid hook handler) failed: '
        'exec: "/var/lib/juju/agents/unit-broken-0/charm/dispatch": permission denied'
    ) in log
    # A unit in error leaves only by force: its agent cannot run its teardown, so the
    # backstop removes it after the max-wait (Juju's one minute, shortened here).
    juju.model_config({"localjuju-force-max-wait": "4s"})
    try:
        t0 = time.monotonic()
        juju.remove_application("broken", force=True)
        assert "broken" in juju.status().apps  # not at once: the agent gets its max-wait
        juju.wait(lambda s: "broken" not in s.apps, timeout=30, delay=0.2, successes=1)
        assert time.monotonic() - t0 >= 4
    finally:
        juju.model_config({"localjuju-force-max-wait": "1m"})


@pytest.mark.parametrize("halt", ["kill-machine", "stop-machine"])
def test_a_hook_the_machine_s_end_interrupted_fails_then_is_retried_then_start_runs(
    model: jubilant.Juju, halt: str
) -> None:
    """A machine crashes (or shuts down) under a running hook: the uniter's operation state is
    still "run hook, pending", so the restarted agent reports that hook as failed ("awaiting
    error resolution"), retries it on its timer, then runs the implicit start hook of a reboot
    (Juju's uniter resolver and reboot resolver)."""
    juju = model
    victim = next(u for u in sorted(units_of(juju, "hl")) if not units_of(juju, "hl")[u].leader)
    machine = units_of(juju, "hl")[victim].machine
    mark = len(hook_log(juju, victim))
    log_mark = len(juju.debug_log(limit=1_000_000).splitlines())
    seen = len(logged(juju, victim))
    juju.config("hl", {"hang-hooks": f"{victim}:config-changed"})
    # the hook hangs holding the machine lock (juju exec waits for it): watch the debug log
    wait_for(juju, lambda: "config-changed" in [e["hook"] for e in logged(juju, victim)[seen:]])
    juju.cli(halt, machine)
    juju.config("hl", reset="hang-hooks")
    juju.cli("start-machine", machine)

    def in_error(s: jubilant.Status) -> bool:
        st = s.apps["hl"].units[victim].workload_status
        return st.current == "error" and st.message == 'hook failed: "config-changed"'

    juju.wait(in_error, timeout=30, delay=0.2)
    juju.wait(jubilant.all_active, timeout=60)
    wait_for(juju, lambda: "start" in [e["hook"] for e in since(juju, victim, mark + 1)])
    ran = [e["hook"] for e in since(juju, victim, mark + 1)]
    # the interrupted hook again (retried), then the reboot's start; no other hook before them
    assert ran[:2] == ["config-changed", "start"], ran
    lines = juju.debug_log(limit=1_000_000).splitlines()[log_mark:]
    tag = "unit-" + victim.replace("/", "-")
    mine = [line for line in lines if line.startswith(tag + ":")]

    def first(text: str) -> int:
        return next(i for i, line in enumerate(mine) if text in line)

    awaiting = first('awaiting error resolution for "config-changed" hook')
    retried = next(
        i for i, line in enumerate(mine) if 'ran "config-changed" hook' in line and i > awaiting
    )
    reboot = first("reboot detected; triggering implicit start hook to notify charm")
    assert awaiting < retried < reboot < first('ran "start" hook')
