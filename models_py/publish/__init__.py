"""Publishing: the disclosure gate (disclosure.py) every exhibit passes before it leaves the pipeline."""

from models_py.publish.disclosure import (  # noqa: F401
    DisclosureError,
    Finding,
    GateRecord,
    GateResult,
    RateSpec,
    TableSpec,
    audit_pattern,
    category_persons,
    check_model,
    load_settings,
    protect,
    scan_published_folder,
)
