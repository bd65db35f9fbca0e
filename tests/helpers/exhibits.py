"""Registry entries for unit tests: one factory, so that a new required Exhibit field changes one place."""

from __future__ import annotations

from models_py.exhibits.registry import Exhibit


def make_exhibit(id: str = "c_tab_x", **fields) -> Exhibit:  # noqa: A002 - the registry's own field name
    """An exhibit with the study read from its id, a placeholder title and source, and the given fields."""
    base = {"study": id.split("_", 1)[0], "title": "t", "source": "m", "columns": ["year", "persons"]}
    return Exhibit(id=id, **{**base, **fields})
