"""Publishing, only through the endpoints: this unit on the peer relation, the cluster's
client view to db clients and proxies, the scrape job to
Prometheus and the dashboard to Grafana, and this unit's telemetry to its cos-agent."""

from __future__ import annotations

from urllib.parse import urlsplit

from charmhelpers.core import hookenv

from . import alerts, cos_agent, dashboard, monitoring, quarantine, tls
from . import plan as P
from .context import Hook, address
from .etcd_conf import build_uri
from .settings import Settings


def publish(
    hook: Hook,
    obs: P.Observed,
    material: tls.Material | None,
    version: str | None,
) -> None:
    peers = hook.endpoint("cluster")
    if peers is not None:
        values = P.announced(obs).to_relation()
        values["db-ingress-address"] = address("db")
        peers.publish(values)
    if obs.members is None or material is None:
        return
    view = P.client_view(obs.members)
    settings: Settings | None = hook.settings
    if settings is not None and quarantine.withheld(settings, obs.leader.quarantine, obs.members):
        # a restore's quarantine: clients keep what they were told (the usual URLs)
        view = P.ClientView("", "")
    db = hook.endpoint("db")
    if db is not None and db.is_joined and view.connection_string:
        db.publish(
            view.connection_string,
            version or "",
            material.client_cert,
            material.client_key,
            material.ca,
        )
    prometheus = hook.endpoint("prometheus")
    if prometheus is not None and prometheus.is_joined:
        if obs.is_leader:
            prometheus.register_job(
                monitoring.JOB_NAME,
                monitoring.scrape_job(obs.members),
                material.ca,
                material.client_cert,
                material.client_key,
            )
        else:  # a former leader's job goes: one job, from the leader
            prometheus.withdraw()
    grafana = hook.endpoint("grafana")
    if grafana is not None and grafana.is_joined:
        # its datasource is the one the grafana charm made for the related Prometheus
        scraped_by = prometheus.relations if prometheus is not None else []
        if obs.is_leader and scraped_by:
            source = dashboard.datasource_name(scraped_by[0].application_name)
            grafana.register_dashboard(dashboard.TITLE, dashboard.dashboard(source))
        else:
            grafana.withdraw()
    publish_cos_agent(hook, obs)
    proxy = hook.endpoint("proxy")
    if proxy is not None and proxy.is_joined and view.cluster:
        proxy.publish(view.cluster, material.client_cert, material.client_key, material.ca)


def instance(host: str, port: int) -> str:
    """``host:port``, an IPv6 address in brackets (as :func:`etcd_conf.build_uri` writes it)."""
    return urlsplit(build_uri("http", host, port)).netloc


def publish_cos_agent(hook: Hook, obs: P.Observed) -> None:
    """This unit's ``config`` on the cos-agent relation (:mod:`cos_agent`): the rules of the
    cluster's voters, the dashboard and, with a metrics listener, the scrape job of this
    unit's member. Without one the job is left out and the log says why (the status too:
    :func:`cos_agent_problem`)."""
    agent = hook.endpoint("cos-agent")
    settings = hook.settings
    if agent is None or not agent.is_joined or settings is None or obs.members is None:
        return
    app = hook.unit.split("/")[0]
    topology = alerts.Topology(hookenv.model_name(), hookenv.model_uuid(), app)
    port = settings.metrics_port
    job = cos_agent.scrape_job(app, port, instance(address("db"), port)) if port else None
    if job is None:
        hookenv.log(cos_agent.problem(port), hookenv.WARNING)
    value = cos_agent.config(topology, len(obs.members.voters), job)
    agent.publish_config(cos_agent.serialise(value))


def cos_agent_problem(hook: Hook) -> str:
    """Why the cos-agent relation gets no scrape job ("" when it does, or is not there)."""
    agent = hook.endpoint("cos-agent")
    if agent is None or not agent.is_joined or hook.settings is None:
        return ""
    return cos_agent.problem(hook.settings.metrics_port)
