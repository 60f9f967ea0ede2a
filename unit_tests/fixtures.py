"""Access to the etcdctl outputs captured from real clusters (scripts/capture-etcdctl-fixtures)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
VERSIONS = ("3.4.23", "3.5.16")


def config_defaults() -> dict[str, Any]:
    """The defaults of the charm's config.yaml."""
    import yaml

    options = yaml.safe_load((DATA.parents[1] / "config.yaml").read_text())["options"]
    return {k: v["default"] for k, v in options.items()}


def capture(version: str, name: str) -> dict[str, Any]:
    return json.loads((DATA / "etcdctl" / version / f"{name}.json").read_text())


def context(version: str) -> dict[str, Any]:
    return capture(version, "context")


class Replay:
    """An etcdctl runner answering from captures: maps argument tuples to capture names."""

    def __init__(self, version: str, answers: dict[tuple[str, ...], str]) -> None:
        self.version = version
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(
        self, argv: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        args = [a for a in argv[1:] if not a.startswith("--") and a not in ("-w", "json")]
        self.calls.append(args)
        c = capture(self.version, self.answers[tuple(args)])
        return subprocess.CompletedProcess(argv, c["rc"], c["stdout"], c["stderr"])


def charmhelpers_nrpe() -> ModuleType:
    """charm-helpers' ``contrib.charmsupport.nrpe``. It imports ``charmhelpers.core.host``,
    which refuses any platform its ``osplatform.get_platform`` does not know from
    /etc/os-release: this Debian host's NAME ("Debian GNU/Linux") is not matched, the Ubuntu
    machines the charm runs on are. The import is made as on Ubuntu (the module is then
    cached)."""
    import charmhelpers.osplatform as osplatform
    import pytest

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(osplatform, "get_platform", lambda: "ubuntu")
        from charmhelpers.contrib.charmsupport import nrpe
    return nrpe


class Kv(dict[str, Any]):
    """charmhelpers' unitdata, in memory (a dict with its set and unset)."""

    def set(self, k: str, v: Any) -> None:
        self[k] = v

    def unset(self, k: str) -> None:
        self.pop(k, None)
