"""What etcd and snapd run with: etcd's config file rendered from the settings and the
bootstrap record, its hash (a restart is due when it changes), and the snapd refresh timer."""

from __future__ import annotations

import json
import os
import time

from charmhelpers.core import hookenv

from . import etcd_conf as C
from . import hooktools, workload
from . import volume as V
from .context import Ctx, Hook, log
from .record import KV_RENDERED_CONF
from .settings import Settings


def render(ctx: Ctx) -> str:
    """etcd's config from the template and its context. The last rendering is kept in the
    unit's kv under the hash of both, so a hook whose inputs did not change neither imports
    jinja2 nor compiles the template (a tenth of a hook's CPU)."""
    template = os.path.join(hookenv.charm_dir(), "templates", "etcd3.conf")
    with open(template) as f:
        text = f.read()
    context = C.conf_context(
        ctx.settings,
        ctx.identity,
        ctx.record.bootstrap,
        ctx.version,
        V.data_dir(str(ctx.record.volume.get("state", "")), C.DATA_DIR),
    )
    key = C.conf_hash(text + "\0" + json.dumps(context, sort_keys=True))  # JSON types only
    kv = ctx.record.kv
    saved = kv.get(KV_RENDERED_CONF)
    if isinstance(saved, dict) and saved.get("key") == key and isinstance(saved.get("conf"), str):
        return str(saved["conf"])
    conf = C.render(text, context)
    kv.set(KV_RENDERED_CONF, {"key": key, "conf": conf})
    return conf


def desired(ctx: Ctx) -> tuple[str, str]:
    """(the config etcd should run with, its hash); both empty before etcd has started
    (the first config is written by the start itself)."""
    if not ctx.record.started:
        return "", ""
    conf = render(ctx)
    return conf, conf_hash(conf)


def conf_hash(text: str) -> str:
    """Hash of everything etcd reads at start: its config and its certificates."""
    files = "".join(
        workload.read_file(p) for p in (C.CA_PATH, C.SERVER_CERT_PATH, C.SERVER_KEY_PATH)
    )
    return C.conf_hash(text + files)


def refresh_timer(value: str) -> str:
    """snapd refresh.timer for the snapd_refresh option (``max``: once a month, on the
    weekday of the deployment)."""
    if value != "max":
        return value
    day = time.strftime("%a").lower()[:3]
    return f"{day}5,03:00"


def apply_refresh_timer(hook: Hook, settings: Settings) -> None:
    # the leader decides the timer for all units; "max" is computed once (from the day of
    # the deployment) and kept, any other value follows the config
    stored = hooktools.leader_get("snapd_refresh") or ""
    timer = stored
    if hooktools.is_leader():
        if settings.snapd_refresh != "max" or not stored:
            timer = refresh_timer(settings.snapd_refresh)
        if timer != stored:
            hooktools.leader_set({"snapd_refresh": timer})
    if timer and hook.record.refresh_timer != timer:
        try:
            workload.set_refresh_timer(timer)
            hook.record.refresh_timer = timer
        except workload.WorkloadError as e:
            log(f"cannot set the snapd refresh timer: {e}", hookenv.WARNING)
