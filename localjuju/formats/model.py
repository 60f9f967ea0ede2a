"""``juju models``, ``juju show-model``, ``juju model-config`` output, as Juju 3.6.

Sources: juju ``cmd/juju/controller/listmodels.go`` (``ModelSummarySet``,
``ModelSummary``), ``cmd/juju/common/model.go`` (``ModelInfo`` and friends,
``ModelInfoFromParams``), ``cmd/juju/model/show.go`` (a map short name -> info),
``cmd/juju/model/config.go`` (``getAllConfig``, ``formatConfigTabular``) and
``environs/config/source.go``: ``ConfigValue`` has no JSON tags, so ``--format json`` keys
are ``"Value"`` and ``"Source"`` (capitalised; jubilant reads ``v["Value"]``) while YAML
lower-cases them (``value``, ``source``).
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from ._go import GoStruct, go_json
from ._goyaml import go_yaml
from ._tabwriter import TabWriter, Wrapper

__all__ = [
    "ModelCredential",
    "ModelStatus",
    "ModelUser",
    "ModelSummary",
    "ModelDetails",
    "user_friendly_duration",
    "models_value",
    "models_json",
    "models_yaml",
    "show_model_value",
    "show_model_json",
    "show_model_yaml",
    "model_config_value",
    "model_config_json",
    "model_config_yaml",
    "model_config_tabular",
    "NO_MODELS_MESSAGE",
]


def user_friendly_duration(when: datetime.datetime, now: datetime.datetime) -> str:
    """``common.UserFriendlyDuration``: "just now", "5 seconds ago", "1 minute ago",
    "2 hours ago", or the date (``2006-01-02``) beyond a day."""
    since = (now - when).total_seconds()
    if since >= 24 * 3600:
        return f"{when:%Y-%m-%d}"
    if since >= 3600:
        h = int(since // 3600)
        return f"{h} hour{'s' if h != 1 else ''} ago"
    if since >= 60:
        m = int(since // 60)
        return f"{m} minute{'s' if m != 1 else ''} ago"
    if since >= 2:
        return f"{int(since)} seconds ago"
    return "just now"


@dataclasses.dataclass
class ModelCredential:
    name: str
    owner: str
    cloud: str
    validity_check: str = ""  # "valid"/"invalid"

    def value(self) -> GoStruct:
        out = GoStruct(name=self.name, owner=self.owner, cloud=self.cloud)
        if self.validity_check:
            out["validity-check"] = self.validity_check
        return out


@dataclasses.dataclass
class ModelStatus:
    """``common.ModelStatus``; ``since`` is already friendly ("2 minutes ago")."""

    current: str = ""
    message: str = ""
    reason: str = ""
    since: str = ""
    migration: str = ""
    migration_start: str = ""
    migration_end: str = ""

    def value(self) -> GoStruct:
        out = GoStruct()
        for key, v in (
            ("current", self.current),
            ("message", self.message),
            ("reason", self.reason),
            ("since", self.since),
            ("migration", self.migration),
            ("migration-start", self.migration_start),
            ("migration-end", self.migration_end),
        ):
            if v:
                out[key] = v
        return out


@dataclasses.dataclass
class ModelUser:
    access: str
    last_connection: str = "never connected"
    display_name: str = ""


@dataclasses.dataclass
class _Common:
    short_name: str
    uuid: str
    controller_uuid: str
    controller_name: str
    owner: str = "admin"
    cloud: str = "localhost"
    region: str = ""
    model_type: str = "iaas"
    provider_type: str = ""
    life: str = "alive"
    is_controller: bool = False
    status: ModelStatus | None = None
    credential: ModelCredential | None = None
    sla: str = "unsupported"
    sla_owner: str = ""
    agent_version: str = ""

    @property
    def name(self) -> str:
        return f"{self.owner}/{self.short_name}"

    def _identity(self) -> GoStruct:
        """The leading fields both Go structs share, in their order (name ... region)."""
        out = GoStruct()
        out["name"] = self.name
        out["short-name"] = self.short_name
        out["model-uuid"] = self.uuid
        out["model-type"] = self.model_type
        out["controller-uuid"] = self.controller_uuid
        out["controller-name"] = self.controller_name
        out["is-controller"] = self.is_controller
        out["owner"] = self.owner
        out["cloud"] = self.cloud
        if self.region:
            out["region"] = self.region
        return out


@dataclasses.dataclass
class ModelSummary(_Common):
    """One entry of ``juju models``; ``access`` and ``last_connection`` are the listing
    user's."""

    access: str = "admin"
    last_connection: str = "just now"

    def value(self) -> GoStruct:
        out = self._identity()
        if self.credential is not None:
            out["credential"] = self.credential.value()
        if self.provider_type:
            out["type"] = self.provider_type
        out["life"] = self.life
        if self.status is not None:
            out["status"] = self.status.value()
        out["access"] = self.access
        out["last-connection"] = self.last_connection
        if self.sla:
            out["sla"] = self.sla
        if self.sla_owner:
            out["sla-owner"] = self.sla_owner
        if self.agent_version:
            out["agent-version"] = self.agent_version
        return out


@dataclasses.dataclass
class ModelDetails(_Common):
    """``juju show-model``'s ``common.ModelInfo``. ``machines`` maps machine id to cores;
    ``secret_backends`` maps backend name to ``(num_secrets, status, message)``;
    ``supported_features`` holds ``(name, description, version)``."""

    users: dict[str, ModelUser] = dataclasses.field(default_factory=dict)
    machines: dict[str, int] = dataclasses.field(default_factory=dict)
    secret_backends: dict[str, tuple[int, str, str]] = dataclasses.field(default_factory=dict)
    supported_features: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    def value(self) -> GoStruct:
        out = self._identity()
        if self.provider_type:
            out["type"] = self.provider_type
        out["life"] = self.life
        if self.status is not None:
            out["status"] = self.status.value()
        if self.users:
            users = {}
            for k, u in self.users.items():
                uv = GoStruct()
                if u.display_name:
                    uv["display-name"] = u.display_name
                uv["access"] = u.access
                uv["last-connection"] = u.last_connection
                users[k] = uv
            out["users"] = users
        if self.machines:
            out["machines"] = {k: GoStruct(cores=v) for k, v in self.machines.items()}
        if self.secret_backends:
            backends = {}
            for k, (num, status, message) in self.secret_backends.items():
                bv = GoStruct({"num-secrets": num, "status": status})
                if message:
                    bv["message"] = message
                backends[k] = bv
            out["secret-backends"] = backends
        if self.sla:
            out["sla"] = self.sla
        if self.sla_owner:
            out["sla-owner"] = self.sla_owner
        if self.agent_version:
            out["agent-version"] = self.agent_version
        if self.credential is not None:
            out["credential"] = self.credential.value()
        if self.supported_features:
            feats = []
            for name, description, version in self.supported_features:
                f = GoStruct(name=name, description=description)
                if version:
                    f["version"] = version
                feats.append(f)
            out["supported-features"] = feats
        return out


#: stderr of tabular ``juju models`` when there are none (``fmt.Fprintln`` of register.go's
#: ``noModelsMessage``, which starts and ends with a newline).
NO_MODELS_MESSAGE = (
    "\nThere are no models available. You can add models with\n"
    '"juju add-model", or you can ask an administrator or owner\n'
    'of a model to grant access to that model with "juju grant".\n\n'
)


def models_value(models: list[ModelSummary], current_model: str = "") -> GoStruct:
    """``juju models`` (``ModelSummarySet``). ``current_model``: the current model's name
    as the listing user sees it ("test" for their own, "bob/test" otherwise)."""
    out = GoStruct(models=[m.value() for m in models])
    if current_model:
        out["current-model"] = current_model
    return out


def models_json(models: list[ModelSummary], current_model: str = "") -> str:
    """``juju models --format json``."""
    return go_json(models_value(models, current_model))


def models_yaml(models: list[ModelSummary], current_model: str = "") -> str:
    """``juju models --format yaml``."""
    return go_yaml(models_value(models, current_model))


def show_model_value(model: ModelDetails) -> dict[str, GoStruct]:
    """``juju show-model``: a one-entry map keyed by the short model name."""
    return {model.short_name: model.value()}


def show_model_json(model: ModelDetails) -> str:
    """``juju show-model --format json``."""
    return go_json(show_model_value(model))


def show_model_yaml(model: ModelDetails) -> str:
    """``juju show-model`` (YAML is its default)."""
    return go_yaml(show_model_value(model))


def model_config_value(
    config: dict[str, tuple[Any, str]], *, yaml: bool = False
) -> dict[str, GoStruct]:
    """``juju model-config``: ``config`` maps key -> ``(value, source)``, source one of
    default, controller, region, model. The keys ``name``, ``type`` and ``uuid`` are
    dropped as Juju does."""
    vkey, skey = ("value", "source") if yaml else ("Value", "Source")
    return {
        k: GoStruct({vkey: v, skey: s})
        for k, (v, s) in config.items()
        if k not in ("name", "type", "uuid")
    }


def model_config_json(config: dict[str, tuple[Any, str]]) -> str:
    """``juju model-config --format json``."""
    return go_json(model_config_value(config))


def model_config_yaml(config: dict[str, tuple[Any, str]]) -> str:
    """``juju model-config --format yaml``."""
    return go_yaml(model_config_value(config, yaml=True))


def model_config_tabular(config: dict[str, tuple[Any, str]]) -> str:
    """``juju model-config`` (tabular default): ``Attribute  From  Value``, values as YAML,
    ``cloudinit-userdata`` replaced by a hint when set."""
    tw = TabWriter()
    w = Wrapper(tw)
    w.println("Attribute", "From", "Value")
    for name in sorted(k for k in config if k not in ("name", "type", "uuid")):
        value, source = config[name]
        if name == "cloudinit-userdata" and value:
            value = "<value set, see juju model-config cloudinit-userdata>"
        text = go_yaml(value).removesuffix("\n") if value is not None else ""
        w.println(name, source, text)
    tw.flush()
    return tw.getvalue()
