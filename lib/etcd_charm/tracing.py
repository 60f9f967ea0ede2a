"""charms.reactive's flag trace, written in a few ``juju-log`` calls instead of one per flag.

charms.reactive installs its ``LogTracer`` in every hook (an ``atstart`` callback registered
when ``charms.reactive.trace`` is imported). It logs each flag set or cleared with its own
``juju-log`` call: a hook tool process per flag, 13 in a peer hook and 35 in the hook that
receives the certificates, at DEBUG, which a model at Juju's default ``logging-config``
(``<root>=INFO``) does not even keep. :class:`BatchedLogTracer` writes the same lines, in the
same order, in one call per dispatch phase and one when the hook's process ends (whether the
hook succeeded or failed, so that a failed hook's trace is kept).
"""

from __future__ import annotations

import atexit
from typing import Any

from charmhelpers.core import hookenv
from charms.reactive import trace


class BatchedLogTracer(trace.LogTracer):
    """``LogTracer`` whose flag lines wait for the next phase's lines or the process's end."""

    _msgs: list[str]  # LogTracer's lines not yet flushed

    def __init__(self) -> None:
        super().__init__()
        self._pending: list[str] = []
        atexit.register(self.flush)

    def _flush(self) -> None:
        self._pending.extend(self._msgs)
        self._msgs = []

    def start_dispatch(self) -> None:
        super().start_dispatch()
        self.flush()

    def start_dispatch_phase(self, phase: Any, handlers: Any) -> None:
        super().start_dispatch_phase(phase, handlers)
        self.flush()

    def flush(self) -> None:
        """Write what is pending in one ``juju-log`` call."""
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        try:
            hookenv.log("\n".join(["tracer>"] + lines if len(lines) > 1 else lines), self.LEVEL)
        except Exception:  # noqa: BLE001 - a trace must never fail the hook
            pass


def install() -> bool:
    """Put a :class:`BatchedLogTracer` where charms.reactive registered its ``LogTracer`` to be
    installed at the hook's start. False (and the framework's tracer kept) when no such
    registration is found: a charms.reactive that registers it differently."""
    replaced = False
    for i, (callback, args, kwargs) in enumerate(hookenv._atstart):
        if callback is trace.install_tracer and args and type(args[0]) is trace.LogTracer:
            hookenv._atstart[i] = (callback, (BatchedLogTracer(),), kwargs)
            replaced = True
    return replaced
