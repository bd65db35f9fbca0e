"""Data quality beyond the ingestion gate, all driven by the data contracts.

- `expectations`: Great Expectations suites per register year (semantic rules: shares,
  distributions, year-on-year jumps), their thresholds declared in the contracts;
- `dbt_sources`: the dbt source tests the contracts imply, and the drift between them and
  dbt/models/staging/_sources.yml;
- `summary`: the data-quality summary per register year.
"""
