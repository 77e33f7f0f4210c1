"""Batch eligibility matching: stored results of every entity × active product version.

- ``plan``: one SQL statement that evaluates every product of the catalogue over a set of
  entity rows (built from ``batch_matching.compile``), with the reasons' rule ids;
- ``schema``: the PostgreSQL layout (results partitioned by generation, code maps);
- ``services``: full runs (chunked, resumable, swapped in atomically), incremental
  re-matching after entity edits and product publications, the SQLite path for the demo;
- ``selectors``: where the results are read (enterprise home, 潜在客户, near misses,
  declarations);
- ``tasks``: the Celery tasks (named ``batch_matching.*``).
"""
