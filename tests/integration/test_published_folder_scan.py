"""The independent scan of the whole published folder of a full run (policy: "an independent scan of the whole
published folder (all formats) for counts 1-9 and for id-shaped strings"): no finding in any file."""

from __future__ import annotations

from collections import Counter

from models_py.exhibits.registry import load_registry
from models_py.publish.disclosure import scan_published_folder


def _rate_scale(column: str) -> int:
    """The scale a rate column is printed on, read from its name (the registry's naming rule)."""
    if "per_1000" in column:
        return 1000
    if "pct" in column or "per_100" in column:
        return 100
    return 1


def registry_declarations() -> dict:
    """Count and rate columns of each exhibit's tidy files, as the registry declares them (model outputs and
    pages fall back on the scan's count-column pattern)."""
    declared = {}
    for e in load_registry():
        d = e.disclosure or {}
        if "model" in d or not d:
            continue
        rates = {}
        for r in d.get("rates") or []:
            if r["denominator"] in e.columns:  # a rate implies its count only beside its published denominator
                rates[r["column"]] = [r["denominator"], _rate_scale(r["column"])]
        for suffix in ("csv", "parquet"):
            declared[f"exhibits/{e.id}.{suffix}"] = {"counts": sorted(d.get("counts") or {}), "rates": rates}
    return declared


def test_the_published_folder_of_a_full_run_holds_no_disclosive_value(published_report):
    root = published_report.resolve()
    formats = Counter(p.suffix.lower() for p in root.rglob("*") if p.is_file())
    for suffix in (".html", ".csv", ".parquet", ".xlsx", ".svg", ".json"):
        assert formats[suffix], f"the report has no {suffix} file to scan"
    findings = scan_published_folder(root, registry_declarations())
    assert findings == [], "\n".join(f"{f.file} {f.column}: {f.rule} ({f.detail})" for f in findings)
