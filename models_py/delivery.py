"""The delivery layout: one folder per register year with a manifest (see data_contracts/README.md)."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"
YEAR_FOLDER = re.compile(r"^\d{4}$")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def delivery_years(landing: Path) -> list[str]:
    """Register years with a delivery folder that holds a manifest, oldest first."""
    if not landing.exists():
        return []
    return sorted(p.name for p in landing.iterdir() if p.is_dir() and YEAR_FOLDER.match(p.name) and (p / MANIFEST).exists())


def manifest_fingerprint(landing: Path, year: str) -> str:
    """Identifies one delivery of a year: the manifest's own checksum (changes with any revision)."""
    return sha256_file(landing / year / MANIFEST)


@dataclass(frozen=True)
class TableEntry:
    file: str
    rows: int
    sha256: str


def read_manifest(delivery_dir: Path) -> dict:
    with open(delivery_dir / MANIFEST, encoding="utf-8") as fh:
        return json.load(fh)
