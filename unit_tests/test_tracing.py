"""The flag trace in a few juju-log calls (``etcd_charm.tracing``): the lines charms.reactive's
LogTracer writes, batched per dispatch phase and at the hook's end."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from charmhelpers.core import hookenv

from unit_tests.test_reactive_wiring import reactive


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reactive()
    bus = importlib.import_module("charms.reactive.bus")

    calls: list[str] = []
    monkeypatch.setattr(hookenv, "log", lambda msg, level=None: calls.append(msg))
    monkeypatch.setattr(bus.Handler, "get_handlers", classmethod(lambda c: []))
    return calls


def test_flag_lines_wait_for_the_next_phase_and_keep_their_order(logged: list[str]) -> None:
    from etcd_charm.tracing import BatchedLogTracer

    tracer = BatchedLogTracer()
    tracer.set_flag("endpoint.cluster.joined")
    tracer.clear_flag("etcd.started")
    assert logged == []
    tracer.start_dispatch_phase("hooks", [])
    assert logged == [
        "tracer>\ntracer: set flag endpoint.cluster.joined\ntracer: cleared flag etcd.started\n"
        "tracer: hooks phase, 0 handlers queued"
    ]
    tracer.set_flag("etcd.tls.ready")
    assert len(logged) == 1
    tracer.flush()  # what the process's end does (atexit)
    assert logged[1] == "tracer: set flag etcd.tls.ready"
    tracer.flush()
    assert len(logged) == 2


def test_a_failing_log_call_does_not_fail_the_hook(
    logged: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from etcd_charm.tracing import BatchedLogTracer

    def refuse(msg: str, level: Any = None) -> None:
        raise OSError("juju-log: the agent is gone")

    monkeypatch.setattr(hookenv, "log", refuse)
    tracer = BatchedLogTracer()
    tracer.set_flag("x")
    tracer.flush()


def test_install_replaces_the_framework_s_tracer_registration(logged: list[str]) -> None:
    trace = importlib.import_module("charms.reactive.trace")

    from etcd_charm.tracing import BatchedLogTracer, install

    saved = list(hookenv._atstart)
    try:
        hookenv._atstart[:] = [(trace.install_tracer, (trace.LogTracer(),), {})]
        assert install() is True
        [(callback, args, _)] = hookenv._atstart
        assert callback is trace.install_tracer and type(args[0]) is BatchedLogTracer
        hookenv._atstart[:] = []
        assert install() is False
    finally:
        hookenv._atstart[:] = saved
