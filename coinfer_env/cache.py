"""Exact memo of evaluation results, in memory and optionally in sqlite.

A key is (fingerprint, kept vector). The fingerprint hashes everything else the
result depends on: the weights' and the data's contents, the code (package
version and a digest of its source), the evaluation settings, the device and the
torch thread count (CPU kernels split work differently with another count, which
moves accuracies). A hit is therefore the result the evaluation would compute
again, never an approximation.

What is read back is validated: a row that does not parse, has another schema, or
holds a value outside its range is treated as a miss (with one warning), and an
unusable file turns persistence off with one warning, never silently.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import sqlite3
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

TABLE = "results_v2"  # a file from another schema version lives beside it untouched


def fingerprint(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def array_digest(*arrays: Any) -> str:
    """sha256 over the shapes, dtypes and bytes of tensors or arrays."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a.cpu().numpy() if hasattr(a, "cpu") else a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """The package version and a digest of coinfer_env's source: an edited checkout is another code version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("coinfer-env")
    except PackageNotFoundError:
        v = "unknown"
    return f"{v}+{source_digest(Path(__file__).parent, salt=v)}"


def source_digest(*directories: Path, salt: str = "") -> str:
    """sha256 (16 hex digits) over ``salt`` and the name and bytes of every .py file directly in each directory."""
    h = hashlib.sha256(salt.encode())
    for directory in directories:
        for path in sorted(Path(directory).glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def valid_result(row: Any) -> bool:
    """A cached evaluation: a dict whose accuracy is a finite number in [0, 1]."""
    if not isinstance(row, dict) or not isinstance(row.get("accuracy"), (int, float)) or isinstance(row.get("accuracy"), bool):
        return False
    return math.isfinite(row["accuracy"]) and 0.0 <= row["accuracy"] <= 1.0


class ResultCache:
    """``get``/``put`` JSON-able results by (fingerprint, kept vector).

    Survives ``copy.deepcopy`` and ``pickle`` (vector envs and RL libraries copy
    envs): the sqlite connection is dropped and reopened on first use.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.memory: dict[tuple[str, str], dict] = {}
        self._db: sqlite3.Connection | None = None
        self._warned = False
        self._open()

    def _warn(self, message: str) -> None:
        if not self._warned:
            warnings.warn(f"evaluation cache {self.path}: {message}", RuntimeWarning, stacklevel=3)
            self._warned = True

    def _open(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30)
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT, kept TEXT, result TEXT, PRIMARY KEY (key, kept))")
            self._db.commit()
        except (sqlite3.Error, OSError) as err:
            self._db = None
            self._warn(f"not usable ({err}); results are kept in memory only")

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_db": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._open()

    def get(self, key: str, kept: Sequence[int]) -> dict | None:
        k = ",".join(map(str, kept))
        if (key, k) in self.memory:
            return self.memory[key, k]
        if self._db is None:
            return None
        try:
            row = self._db.execute(f"SELECT result FROM {TABLE} WHERE key=? AND kept=?", (key, k)).fetchone()
        except sqlite3.Error as err:
            self._warn(f"unreadable ({err}); treated as a miss")
            return None
        if not row:
            return None
        try:
            result = json.loads(row[0])
        except (json.JSONDecodeError, TypeError):
            result = None
        if not valid_result(result):
            self._warn(f"an invalid row for kept={k} ({str(row[0])[:60]!r}) was ignored and will be recomputed")
            return None
        self.memory[key, k] = result
        return result

    def put(self, key: str, kept: Sequence[int], result: dict) -> None:
        k = ",".join(map(str, kept))
        self.memory[key, k] = result
        if self._db is None:
            return
        try:
            self._db.execute(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?)", (key, k, json.dumps(result)))
            self._db.commit()
        except sqlite3.Error as err:
            self._db = None
            self._warn(f"not writable ({err}); results are kept in memory only")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
