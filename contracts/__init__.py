"""The strings and shapes that two stages share, defined once.

`contracts` imports nothing else of the project (a layer check in the suite enforces it), so the simulator,
the extraction, the Spark jobs shipped to EMR, the flows and the warehouse loaders all build against these
definitions rather than against each other. docs/contracts.md describes them in prose and points here.

- `contracts.landing`: entities, the extraction window and its label, page / manifest / watermark keys.
- `contracts.lake`: lake table paths, the export layout, job result files, the model registry root.
- `contracts.jobs`: job names, Delta engines, the typed options of each job and the argument list of
  `spark_jobs/main.py`.
- `contracts.results`: what every stage reports (one metrics shape: counts per table).
- `contracts.names`: Prefect block documents and the other deployment names.
- `contracts.tables`: the star schema, from which the Spark star job, the exports and every warehouse's DDL
  are derived.
"""
