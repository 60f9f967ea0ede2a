"""`juju resolved [--no-retry] [--all]`: a failed hook is retried now, or skipped.

The first tests are pure (the resolver's decision, the agent's skip and back-off reset, the
CLI's usage errors); the integration tests run the hooklog charm in a local model and read what
really happened: the charm's own hook log, statuses, relation data and the model's state file.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import jubilant
import pytest

from localjuju import cli, paths
from localjuju.controller import resolver
from localjuju.controller.agent import RETRY_START, UnitAgent
from localjuju.controller.resolver import HookInfo, Op, Remote
from localjuju.controller.state import (
    RESOLVED_NO_HOOKS,
    RESOLVED_RETRY_HOOKS,
    HookError,
    Model,
    StatusInfo,
    Unit,
    UnitLocal,
)

from .conftest import HOOKLOG

APP = "hooklog"
UNITS = ("hooklog/0", "hooklog/1")

# ---------------------------------------------------------------------- pure: resolver


def errored_local(*, started: bool = True) -> UnitLocal:
    """A unit whose config-changed failed three times; its next back-off retry is far away."""
    local = UnitLocal(installed=True, started=started, config_hash="old", charm_revision=0)
    local.leader_settings_version = 0
    local.error = HookError(hook="config-changed", attempts=3, retry_at=time.time() + 300)
    return local


def remote(**kw: Any) -> Remote:
    return Remote(unit="a/0", config_hash="new", charm_revision=0, leader_settings_version=0, **kw)


def test_failed_hook_waits_for_the_back_off_or_resolved() -> None:
    local = errored_local()
    assert resolver.next_op(local, remote()) is None
    assert resolver.next_op(local, remote(auto_retry=False, retry_due=True)) is None
    # `juju resolved`: the same hook, now, whatever the back-off timer or the model config say.
    for auto_retry in (True, False):
        op = resolver.next_op(local, remote(resolved=RESOLVED_RETRY_HOOKS, auto_retry=auto_retry))
        assert op == Op(
            "hook", HookInfo("config-changed", "config-changed"), resolved="retry-hooks"
        )
    op = resolver.next_op(local, remote(resolved=RESOLVED_NO_HOOKS))
    assert op == Op("skip-hook", HookInfo("config-changed", "config-changed"), resolved="no-hooks")
    # Queued actions still come first (actions resolver before nextOpHookError).
    op = resolver.next_op(local, remote(resolved=RESOLVED_NO_HOOKS, pending_task="7"))
    assert op == Op("task", task_id="7")


def test_after_a_reboot_start_runs_once_no_hook_is_pending() -> None:
    """The reboot resolver: an implicit start hook, but only after the pending (interrupted)
    hook has been retried and committed, and before anything else that is due."""
    local = errored_local()
    local.reboot_detected = True
    assert resolver.next_op(local, remote()) is None  # the failed hook first
    failed = resolver.next_op(local, remote(retry_due=True))
    assert failed == Op("hook", HookInfo("config-changed", "config-changed"))
    resolver.commit(local, HookInfo("config-changed", "config-changed"), remote())
    start = Op("hook", HookInfo("start", "start"))
    assert resolver.next_op(local, remote(update_status_due=True, pending_task="3")) == start
    resolver.commit(local, HookInfo("start", "start"), remote())
    assert not local.reboot_detected
    assert resolver.next_op(local, remote()) is None
    # a unit that never started gets no implicit start
    fresh = UnitLocal(installed=True, charm_revision=0, config_hash="new", reboot_detected=True)
    fresh.leader_settings_version = 0
    assert resolver.next_op(fresh, remote()) is None


@pytest.mark.parametrize(
    "deployed, op, due",
    [
        (None, None, True),  # nothing on the machine yet
        (None, Op("hook", HookInfo("install", "install")), True),
        (3, None, False),
        (3, Op("hook", HookInfo("upgrade-charm", "upgrade-charm")), True),
        (4, Op("hook", HookInfo("upgrade-charm", "upgrade-charm")), False),  # already there
        # due before the upgrade: they run the charm the unit has
        (3, Op("hook", HookInfo("start", "start")), False),
        (3, Op("hook", HookInfo("leader-settings-changed", "leader-settings-changed")), False),
        (3, Op("task", task_id="1"), False),
        (3, Op("hook", HookInfo("install", "install")), True),  # refreshed before install
    ],
)
def test_the_charm_is_deployed_first_and_by_the_upgrade(
    deployed: int | None, op: Op | None, due: bool
) -> None:
    from localjuju.controller.agent import deploy_due

    assert deploy_due(deployed, 4, op) is due


def test_relation_hook_error_is_retried_with_its_remote_unit() -> None:
    local = errored_local()
    local.error = HookError(hook="peers-relation-joined", relation_id=3, remote_unit="a/1",
                            remote_app="a", change_version=2)  # fmt: skip
    op = resolver.next_op(local, remote(resolved=RESOLVED_RETRY_HOOKS))
    assert op is not None and op.hook is not None
    assert (op.hook.name, op.hook.kind, op.hook.relation_id, op.hook.remote_unit) == (
        "peers-relation-joined",
        "relation-joined",
        3,
        "a/1",
    )


# ---------------------------------------------------------------------- pure: agent


def fake_agent(local: UnitLocal, resolved: str) -> tuple[UnitAgent, Unit]:
    """A unit agent over an in-memory model; enough for skip/clear/fail (no machine)."""
    model = Model(name="m", uuid="u", network_index=0)
    unit = Unit(name="a/0", machine="0", resolved=resolved, local=local)
    unit.agent_status = StatusInfo("error", 'hook failed: "config-changed"')
    model.units[unit.name] = unit
    logged: list[str] = []
    ctl = SimpleNamespace(
        model=model,
        debug=lambda entity, level, module, message: logged.append(message),
        changed=lambda: None,
        update_status_interval=lambda: 300.0,
    )
    return UnitAgent(ctl, unit.name), unit


def test_no_retry_skips_the_hook_and_its_follow_ups_proceed() -> None:
    # config-changed failed before start: skipping it still queues start (runHook.Commit).
    local = errored_local(started=False)
    agent, unit = fake_agent(local, RESOLVED_NO_HOOKS)
    rem = remote(resolved=unit.resolved)
    op = resolver.next_op(local, rem)
    assert op is not None and op.kind == "skip-hook"
    asyncio.run(agent.execute(op, rem))
    assert unit.resolved == ""  # ClearResolved
    assert local.error is None
    # the error shows until the resolver has nothing left to run (Juju's OnIdle)
    assert unit.agent_status.current == "error"
    agent.on_idle()
    assert unit.agent_status.current == "idle"
    assert local.config_hash == "new"  # recorded as if it had run: no config-changed again
    assert resolver.next_op(local, remote()) == Op("hook", HookInfo("start", "start"))


def test_resolved_retry_restarts_the_back_off() -> None:
    local = errored_local()
    agent, unit = fake_agent(local, RESOLVED_RETRY_HOOKS)
    agent.clear_resolved()
    assert unit.resolved == ""
    # The retried hook fails again: the next automatic retry is the first step (5 s), not 40 s.
    agent.fail_hook(
        HookInfo("config-changed", "config-changed"),
        "explicit, bespoke hook script",
        "exit status 1",
    )
    assert local.error is not None and local.error.attempts == 1
    assert local.error.retry_at - time.time() <= RETRY_START * 1.1
    assert unit.agent_status.current == "error"


# ---------------------------------------------------------------------- pure: CLI usage


@pytest.mark.parametrize(
    "argv, message",
    [
        (["resolved"], "no unit specified"),
        (["resolve", "--no-retry"], "no unit specified"),
        (["resolved", "--all", "etcd/0"], "specifying unit names(s) with --all not supported"),
        (["resolved", "etcd"], 'unit name "etcd" not valid'),
        (["resolved", "etcd/leader"], 'unit name "etcd/leader" not valid'),
        (["resolved", "etcd/01"], 'unit name "etcd/01" not valid'),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert capsys.readouterr().err == f"ERROR {message}\n"
    # called in-process, it leaves the caller's SIGPIPE alone (Python ignores it; a default
    # disposition would kill the whole test run at the first write to a closed socket)
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN


# ---------------------------------------------------------------------- integration


def hook_log(juju: jubilant.Juju, unit: str) -> list[dict[str, Any]]:
    task = juju.exec("cat /var/lib/hooklog/hooks.log", unit=unit)
    return [json.loads(line) for line in task.stdout.splitlines() if line.strip()]


def runs(juju: jubilant.Juju, unit: str, hook: str) -> list[dict[str, Any]]:
    return [e for e in hook_log(juju, unit) if e["hook"] == hook]


def model_state(juju: jubilant.Juju) -> dict[str, Any]:
    assert juju.model is not None
    state: dict[str, Any] = json.loads((paths.model_dir(juju.model) / "state.json").read_text())
    return state


def poll_state(
    juju: jubilant.Juju, ready: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    """The model's state file as soon as ``ready`` holds (no 3-successes delay of wait)."""
    deadline = time.monotonic() + timeout
    while True:
        st = model_state(juju)
        if ready(st):
            return st
        assert time.monotonic() < deadline, "timed out waiting for the model state"
        time.sleep(0.1)


def in_error(s: jubilant.Status, unit: str, hook: str) -> bool:
    ws = s.apps[APP].units[unit].workload_status
    return ws.current == "error" and ws.message == f'hook failed: "{hook}"'


def peer_data(juju: jubilant.Juju, unit: str) -> dict[str, Any]:
    info = json.loads(juju.cli("show-unit", unit, "--format", "json"))[unit]
    rel = next(r for r in info["relation-info"] if r["endpoint"] == "peers")
    data: dict[str, Any] = rel["local-unit"]["data"] or {}
    return data


@pytest.fixture(scope="module")
def deployed(juju: jubilant.Juju) -> jubilant.Juju:
    juju.deploy(HOOKLOG, APP, num_units=2)
    juju.wait(jubilant.all_active, timeout=180)
    return juju


@pytest.mark.integration
def test_refused_for_unit_not_in_error_or_unknown(deployed: jubilant.Juju) -> None:
    juju = deployed
    before = {u: hook_log(juju, u) for u in UNITS}
    with pytest.raises(jubilant.CLIError) as exc:
        juju.cli("resolved", "hooklog/0")
    assert (exc.value.returncode, exc.value.stderr) == (
        1,
        'ERROR unit "hooklog/0" is not in an error state\n',
    )
    with pytest.raises(jubilant.CLIError) as exc:
        juju.cli("resolved", "--no-retry", "hooklog/7")
    assert (exc.value.returncode, exc.value.stderr) == (1, 'ERROR unit "hooklog/7" not found\n')
    # Several units: each is tried; the errors are combined, one per line.
    with pytest.raises(jubilant.CLIError) as exc:
        juju.cli("resolve", "hooklog/1", "hooklog/7")
    assert exc.value.stderr == (
        'ERROR unit "hooklog/1" is not in an error state\nunit "hooklog/7" not found\n'
    )
    with pytest.raises(jubilant.CLIError) as exc:
        juju.cli("resolved", "hooklog/0", "hooklog/0")
    assert (exc.value.returncode, exc.value.stderr) == (1, "ERROR duplicate unit specified\n")
    # --all with no unit in error does nothing, successfully.
    assert juju.cli("resolved", "--all") == ""
    # Nothing was marked and nothing ran.
    st = model_state(juju)
    assert all(st["units"][u]["resolved"] == "" for u in UNITS)
    assert {u: hook_log(juju, u) for u in UNITS} == before
    assert jubilant.all_active(juju.status())


@pytest.mark.integration
def test_resolved_retries_now_not_at_the_back_off(deployed: jubilant.Juju) -> None:
    juju = deployed
    juju.model_config({"automatically-retry-hooks": True})
    before = {u: len(runs(juju, u, "config-changed")) for u in UNITS}
    juju.config(APP, {"fail-hooks": "config-changed", "message": "retried"})
    st = poll_state(
        juju,
        lambda st: all(
            st["units"][u]["agent_status"]["current"] == "error"
            and (st["units"][u]["local"]["error"] or {}).get("attempts") == 1
            for u in UNITS
        ),
        timeout=60,
    )
    retry_at = {u: st["units"][u]["local"]["error"]["retry_at"] for u in UNITS}
    # Fixed config, and only hooklog/0 is resolved; hooklog/1 waits for its back-off.
    juju.config(APP, {"fail-hooks": ""})
    juju.cli("resolved", "hooklog/0")
    status = juju.wait(jubilant.all_active, timeout=60)
    for u in UNITS:
        assert status.apps[APP].units[u].workload_status.message == "retried"
    cc0 = runs(juju, "hooklog/0", "config-changed")
    cc1 = runs(juju, "hooklog/1", "config-changed")
    assert (len(cc0), len(cc1)) == (before["hooklog/0"] + 2, before["hooklog/1"] + 2)
    # hooklog/0 ran the failed hook again before its back-off was due; hooklog/1 did not.
    assert cc0[-1]["time"] < retry_at["hooklog/0"]
    assert cc1[-1]["time"] >= retry_at["hooklog/1"]
    st = model_state(juju)
    for u in UNITS:
        assert (st["units"][u]["resolved"], st["units"][u]["local"]["error"]) == ("", None)


@pytest.mark.integration
def test_resolved_retries_only_the_named_unit_then_all(deployed: jubilant.Juju) -> None:
    juju = deployed
    # No automatic retries: whatever runs a failed hook again here is `juju resolved`.
    juju.model_config({"automatically-retry-hooks": False})
    before = {u: len(runs(juju, u, "config-changed")) for u in UNITS}
    juju.config(APP, {"fail-hooks": "config-changed", "message": "third"})
    juju.wait(lambda s: all(in_error(s, u, "config-changed") for u in UNITS), timeout=60)
    failed = {u: before[u] + 1 for u in UNITS}
    assert {u: len(runs(juju, u, "config-changed")) for u in UNITS} == failed
    t0 = time.time()
    juju.cli("resolved", "hooklog/0")
    # It ran again at once, and failed again (the config still makes it fail).
    juju.wait(
        lambda s: in_error(s, "hooklog/0", "config-changed")
        and len(runs(juju, "hooklog/0", "config-changed")) == failed["hooklog/0"] + 1,
        timeout=30,
    )
    assert runs(juju, "hooklog/0", "config-changed")[-1]["time"] >= t0
    # The unit not named was left alone.
    assert len(runs(juju, "hooklog/1", "config-changed")) == failed["hooklog/1"]
    assert in_error(juju.status(), "hooklog/1", "config-changed")
    # Fixed, then `resolve --all` (the alias) retries every unit in error.
    juju.config(APP, {"fail-hooks": ""})
    juju.cli("resolve", "--all")
    status = juju.wait(jubilant.all_active, timeout=60)
    assert {u: len(runs(juju, u, "config-changed")) for u in UNITS} == {
        "hooklog/0": failed["hooklog/0"] + 2,
        "hooklog/1": failed["hooklog/1"] + 1,
    }
    for u in UNITS:
        assert status.apps[APP].units[u].workload_status.message == "third"


@pytest.mark.integration
def test_no_retry_skips_the_failed_hook(deployed: jubilant.Juju) -> None:
    juju = deployed
    juju.model_config({"automatically-retry-hooks": False})
    juju.config(APP, {"fail-hooks": "peers-relation-joined", "message": "ready"})
    juju.wait(jubilant.all_active, timeout=60)
    juju.add_unit(APP)
    new = "hooklog/2"
    # hooklog/0 and hooklog/1 fail peers-relation-joined for the new unit, which fails its own
    # peers-relation-joined for its first peer. (The charm wrote relation data before failing.)
    juju.wait(
        lambda s: all(in_error(s, u, "peers-relation-joined") for u in (*UNITS, new)),
        timeout=180,
    )
    juju.cli("resolved", "--no-retry", *UNITS)

    def caught_up(s: jubilant.Status) -> bool:
        for u in UNITS:
            st = s.apps[APP].units[u]
            if st.workload_status.current != "active" or st.juju_status.current != "idle":
                return False
            log = [e for e in hook_log(juju, u) if e["hook"].startswith("peers-relation-")]
            if log[-1]["hook"] != "peers-relation-changed":
                return False
        return True

    status = juju.wait(caught_up, timeout=60)
    for u in UNITS:
        log = [e for e in hook_log(juju, u) if e["hook"].startswith("peers-relation-")]
        joined = [i for i, e in enumerate(log) if e["env"].get("JUJU_REMOTE_UNIT") == new]
        # The failed joined ran once and was not run again; the skip committed it, so the
        # changed hook it queues for the new unit followed, and nothing else for it.
        assert [log[i]["hook"] for i in joined] == [
            "peers-relation-joined",
            "peers-relation-changed",
        ]
        # Nothing the failed hook wrote was committed.
        data = peer_data(juju, u)
        assert "joined-hooklog-2" not in data and "uncommitted" not in data
    # The unit not named is still in error, on the same hook.
    assert in_error(status, new, "peers-relation-joined")
    first_peer = runs(juju, new, "peers-relation-joined")[0]["env"]["JUJU_REMOTE_UNIT"]
    # Fixed, and --all retries it: this time the hook commits its data.
    juju.config(APP, {"fail-hooks": ""})
    juju.cli("resolved", "--all")
    juju.wait(jubilant.all_active, timeout=120)
    remotes = [e["env"]["JUJU_REMOTE_UNIT"] for e in runs(juju, new, "peers-relation-joined")]
    assert remotes.count(first_peer) == 2  # failed, then retried
    assert sorted(set(remotes)) == list(UNITS)
    data = peer_data(juju, new)
    assert data.get("joined-hooklog-0") == "yes" and data.get("joined-hooklog-1") == "yes"
    assert "uncommitted" not in data
    st = model_state(juju)
    assert all(st["units"][u]["resolved"] == "" for u in (*UNITS, new))


def test_the_agent_is_idle_only_when_nothing_is_left_to_run() -> None:
    """Juju's resolver loop sets idle in OnIdle (ErrNoOperation) only, never in a hook's
    commit: between queued hooks a unit stays "executing" (what jubilant.all_agents_idle
    waits on), and a failed hook waiting for its retry stays "error" (ErrWaiting)."""
    local = errored_local()
    agent, unit = fake_agent(local, "")
    local.error = None
    unit.agent_status = StatusInfo("executing", "running config-changed hook")
    agent.record_hook(HookInfo("config-changed", "config-changed"), remote())  # its commit
    assert unit.agent_status.current == "executing"
    agent.on_idle()
    assert unit.agent_status.current == "idle"
    unit.agent_status = StatusInfo("error", 'hook failed: "config-changed"')
    local.error = errored_local().error
    agent.on_idle()  # waiting for the retry: the error stays
    assert unit.agent_status.current == "error"
