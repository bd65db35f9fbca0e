"""Semantic quality checks (Great Expectations suites per register year). Filled in by the quality stage."""

quality_checks: list = []
