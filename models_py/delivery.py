"""The delivery layout: one folder per register year with a manifest (see data_contracts/README.md).

A delivery is untrusted input. `confined_file` and `load_manifest` are the only ways ingestion
reaches a delivered file or manifest: a file is a plain name inside its own year folder, never a
symlink, never a path that leaves the folder, and a manifest never holds a key twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"
YEAR_FOLDER = re.compile(r"^\d{4}$")
# A delivered file name: letters, digits, '_', '.', '-', starting with a letter or digit; no
# separator, no '..', no glob or quote character (DuckDB would expand '*', '?', '[' in a path).
PLAIN_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def sha256_file(path: Path, chunk: int = 1 << 20, follow_symlinks: bool = True) -> str:
    digest = hashlib.sha256()
    flags = os.O_RDONLY | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(os.open(path, flags), "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def delivery_years(landing: Path) -> list[str]:
    """Register years with a delivery folder that holds a manifest, oldest first."""
    if not landing.exists():
        return []
    return sorted(
        p.name for p in landing.iterdir() if p.is_dir() and YEAR_FOLDER.match(p.name) and (p / MANIFEST).exists()
    )


def manifest_fingerprint(landing: Path, year: str) -> str:
    """Identifies one delivery of a year: the manifest's own checksum (changes with any revision)."""
    return sha256_file(landing / year / MANIFEST)


@dataclass(frozen=True)
class TableEntry:
    file: str
    rows: int
    sha256: str


def read_manifest(delivery_dir: Path) -> dict:
    """Lenient read for the sensor and the balance check (the gate has already judged the manifest)."""
    with open(delivery_dir / MANIFEST, encoding="utf-8") as fh:
        return json.load(fh)


class ConfinementError(Exception):
    """A delivery path that ingestion must not open; `rule` names the broken rule."""

    def __init__(self, rule: str, detail: str):
        self.rule, self.detail = rule, detail
        super().__init__(f"{rule}: {detail}")


class _Object(dict):
    """A JSON object that remembers keys it saw more than once (json.loads keeps the last silently)."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, object]]) -> _Object:
    obj = _Object()
    seen = []
    for key, value in pairs:
        if key in obj:
            seen.append(key)
        obj[key] = value
    obj.duplicates = tuple(seen)
    return obj


def _regular_file(path: Path, what: str, missing_rule: str, link_rule: str) -> None:
    """lstat only (opens nothing): the path must exist as a regular file, not a symlink, FIFO or folder."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise ConfinementError(missing_rule, f"{what} is missing") from None
    except OSError as exc:
        raise ConfinementError(missing_rule, f"{what} cannot be examined ({exc.strerror})") from None
    if stat.S_ISLNK(st.st_mode):
        raise ConfinementError(link_rule, f"{what} is a symbolic link; a delivery holds plain files only")
    if not stat.S_ISREG(st.st_mode):
        raise ConfinementError(link_rule, f"{what} is not a regular file")


def check_delivery_folder(delivery_dir: Path) -> None:
    """The year folder itself must be a real folder, not a symlink to somewhere else."""
    try:
        st = os.lstat(delivery_dir)
    except OSError:
        raise ConfinementError("manifest_present", f"{MANIFEST} is missing (no delivery folder)") from None
    if stat.S_ISLNK(st.st_mode):
        raise ConfinementError(
            "delivery_not_symlink", "the year folder is a symbolic link; deliveries are real folders"
        )
    if not stat.S_ISDIR(st.st_mode):
        raise ConfinementError("delivery_not_symlink", "the year folder is not a folder")


def load_manifest(delivery_dir: Path) -> dict:
    """The manifest, strictly: a regular file in a real year folder, valid JSON, no key twice at any level.

    Raises ConfinementError with rule delivery_not_symlink, manifest_present, manifest_not_symlink,
    manifest_readable or table_listed_once (a table twice in `tables`) / manifest_unique_keys.
    """
    check_delivery_folder(delivery_dir)
    path = delivery_dir / MANIFEST
    _regular_file(path, MANIFEST, "manifest_present", "manifest_not_symlink")
    try:
        with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb") as fh:
            text = fh.read().decode("utf-8")
        manifest = json.loads(text, object_pairs_hook=_object_pairs)
    except (OSError, ValueError) as exc:
        # the parser's message gives a position, never the content
        raise ConfinementError(
            "manifest_readable",
            f"{MANIFEST} is not valid UTF-8 JSON ({type(exc).__name__}"
            f"{': ' + exc.msg if isinstance(exc, json.JSONDecodeError) else ''})",
        ) from None
    if not isinstance(manifest, dict):
        raise ConfinementError("manifest_readable", f"{MANIFEST} is not a JSON object")
    tables = manifest.get("tables")
    if isinstance(tables, _Object) and tables.duplicates:
        twice = sorted(set(tables.duplicates))
        raise ConfinementError(
            "table_listed_once",
            f"the manifest lists table(s) {', '.join(_safe(t) for t in twice)} "
            "more than once (which entry holds is ambiguous)",
        )
    for obj in _objects(manifest):
        if obj.duplicates:
            raise ConfinementError(
                "manifest_unique_keys",
                f"the manifest repeats the key(s) "
                f"{', '.join(_safe(k) for k in sorted(set(obj.duplicates)))} in one object",
            )
    return manifest


def _objects(value):
    if isinstance(value, _Object):
        yield value
        for v in value.values():
            yield from _objects(v)
    elif isinstance(value, list):
        for v in value:
            yield from _objects(v)


def _safe(text: object, limit: int = 40) -> str:
    """A manifest key or value for a message: printable ASCII, truncated (never a whole hostile string)."""
    s = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in str(text))
    return repr(s if len(s) <= limit else s[:limit] + "...")


def confined_file(delivery_dir: Path, entry: object, default_name: str) -> Path:
    """The delivered file a manifest entry names, once it is known to be a plain regular file
    directly inside the year folder. Opens nothing (lstat only)."""
    if not isinstance(entry, dict):
        raise ConfinementError("manifest_readable", "the table's manifest entry is not a JSON object")
    name = entry.get("file", default_name)
    if not isinstance(name, str) or not PLAIN_FILE_NAME.fullmatch(name) or ".." in name:
        raise ConfinementError(
            "file_name_plain",
            "the manifest's file is not a plain file name in the year folder "
            "(an absolute path, '..', a path separator, a quote or another character outside [A-Za-z0-9_.-])",
        )
    path = delivery_dir / name
    _regular_file(path, name, "file_present", "file_not_symlink")
    # belt and braces: the resolved file sits in the resolved year folder
    if path.resolve().parent != delivery_dir.resolve():
        raise ConfinementError("file_name_plain", f"{name} resolves outside the year folder")
    return path
