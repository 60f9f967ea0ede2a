"""localjuju: a local, Juju-compatible model for machine charms."""
