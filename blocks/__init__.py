"""Prefect Block classes for cardlake's configuration and secrets (document names: contracts section 5)."""
