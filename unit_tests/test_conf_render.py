"""etcd's config is rendered with jinja2 only when its template or its context changed: the
last rendering is kept in the unit's kv under the hash of both, and it is the rendering
jinja2 gives for them."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from charmhelpers.core import hookenv

from etcd_charm import configure
from etcd_charm import etcd_conf as C
from etcd_charm.context import Ctx, Hook
from etcd_charm.record import Record
from etcd_charm.settings import parse_settings

from .fixtures import Kv, config_defaults

REPO = Path(__file__).resolve().parent.parent


def make_ctx(kv: Kv, **config: object) -> Ctx:
    parsed, errors = parse_settings({**config_defaults(), **config})
    assert parsed is not None, errors
    hook = Hook("etcd/0", "config-changed", Record(kv), config_defaults(), parsed, [])
    identity = C.Identity("etcd/0", "10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.1")
    return Ctx(hook, parsed, identity, "3.5.16")


@pytest.fixture
def charm_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    monkeypatch.setattr(hookenv, "charm_dir", lambda: str(tmp_path))
    return tmp_path


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    calls: list[dict[str, object]] = []
    real = C.render

    def counting(text: str, context: dict[str, object]) -> str:
        calls.append(context)
        return real(text, context)

    monkeypatch.setattr(C, "render", counting)
    return calls


def test_unchanged_inputs_are_rendered_once_across_hooks(
    charm_dir: Path, renders: list[dict[str, object]]
) -> None:
    kv = Kv()
    first = configure.render(make_ctx(kv))
    again = configure.render(make_ctx(kv))  # the next hook: a new process, the same kv
    assert again == first and len(renders) == 1
    assert "name: etcd0" in first


def test_a_changed_context_or_template_renders_again(
    charm_dir: Path, renders: list[dict[str, object]]
) -> None:
    kv = Kv()
    configure.render(make_ctx(kv))
    other = configure.render(make_ctx(kv, heartbeat_interval=150))
    assert len(renders) == 2 and "heartbeat-interval: 150" in other
    template = charm_dir / "templates" / "etcd3.conf"
    template.write_text(template.read_text() + "# changed by a charm upgrade\n")
    upgraded = configure.render(make_ctx(kv, heartbeat_interval=150))
    assert len(renders) == 3 and upgraded.endswith("# changed by a charm upgrade\n")


def test_the_kept_rendering_is_what_jinja2_gives(
    charm_dir: Path, renders: list[dict[str, object]]
) -> None:
    kv = Kv()
    ctx = make_ctx(kv, heartbeat_interval=120)
    kept = configure.render(ctx)
    kv.clear()
    assert configure.render(replace(ctx)) == kept and len(renders) == 2
