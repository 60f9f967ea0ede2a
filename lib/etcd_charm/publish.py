"""Publishing, only through the endpoints: this unit on the peer relation, the cluster's
client view to db clients and proxies, the scrape job to
Prometheus and the dashboard to Grafana."""

from __future__ import annotations

from . import dashboard, monitoring, tls
from . import plan as P
from .context import Hook, address


def publish(
    hook: Hook,
    obs: P.Observed,
    material: tls.Material | None,
    version: str | None,
) -> None:
    peers = hook.endpoint("cluster")
    if peers is not None:
        values = obs.me.to_relation()
        values["db-ingress-address"] = address("db")
        peers.publish(values)
    if obs.members is None or material is None:
        return
    view = P.client_view(obs.members)
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
    proxy = hook.endpoint("proxy")
    if proxy is not None and proxy.is_joined and view.cluster:
        proxy.publish(view.cluster, material.client_cert, material.client_key, material.ca)
