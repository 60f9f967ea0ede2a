"""What every test suite of the repository shares: a failed integration test explains itself.

When a test that uses a model (any :class:`jubilant.Juju` fixture: the local model or a real
controller) fails, the model's whole debug log (``debug-log --replay``) and its status at that
moment are kept in ``build/failed-models/<test>/`` before the model is destroyed, and the
summary at the end of the run says where (CI prints it). A test that passed but took longer
than :data:`SLOW_S` keeps the same evidence in ``build/slow-models/``: a wait that ran into a
5-minute update-status, say, shows in its log.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Generator
from pathlib import Path

import jubilant
import pytest

ROOT = Path(__file__).resolve().parent
KEEP_DIR = ROOT / "build" / "failed-models"
SLOW_DIR = ROOT / "build" / "slow-models"
#: seconds past which a passing test keeps its model's evidence (the slowest scenarios take
#: about 200 s on 2 cores)
SLOW_S = 240.0
KEPT: list[str] = []


def evidence_dir(nodeid: str, under: Path = KEEP_DIR) -> Path:
    """``build/failed-models/<module>--<test>``: one directory per failed test."""
    return under / re.sub(r"[^A-Za-z0-9_.-]+", "-", nodeid).strip("-")[:150]


def keep_evidence(juju: jubilant.Juju, nodeid: str, under: Path = KEEP_DIR) -> Path:
    """Write the model's debug log and status (text, JSON) into the test's directory; each
    that cannot be read says why in its file."""
    out = evidence_dir(nodeid, under)
    out.mkdir(parents=True, exist_ok=True)
    commands = {
        "debug-log.txt": ["debug-log", "--replay", "--no-tail", "--level", "DEBUG"],
        "status.txt": ["status"],
        "status.json": ["status", "--format", "json"],
    }
    for name, args in commands.items():
        argv = [juju.cli_binary, *args, *(["-m", juju.model] if juju.model else [])]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
            text = proc.stdout if proc.returncode == 0 else f"{argv}: {proc.stderr}"
        except (OSError, subprocess.TimeoutExpired) as e:
            text = f"{argv}: {e}"
        (out / name).write_text(text)
    return out


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    slow = report.passed and call.when == "call" and report.duration > SLOW_S
    if (report.failed and call.when in ("setup", "call")) or slow:
        funcargs = getattr(item, "funcargs", {})
        juju = next((v for v in funcargs.values() if isinstance(v, jubilant.Juju)), None)
        if juju is not None and juju.model:
            path = keep_evidence(juju, item.nodeid, SLOW_DIR if slow else KEEP_DIR)
            took = f" (passed, in {report.duration:.0f} s)" if slow else ""
            KEPT.append(f"{item.nodeid}{took}: {path.relative_to(ROOT)}")
            report.sections.append(("model kept", f"debug log and status in {path}"))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not KEPT:
        return
    terminalreporter.write_sep(
        "=", "the models of failed (or slow) tests: debug log and status kept"
    )
    for line in KEPT:
        terminalreporter.write_line(line)
