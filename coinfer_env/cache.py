"""Exact memo of evaluation results, in memory and optionally in sqlite.

A key is (fingerprint, kept vector). The fingerprint hashes everything else the
result depends on (weights, data, channel, fine-tune settings, seed, device), so a
hit is the same result the evaluation would compute again, never an approximation.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Sequence


def fingerprint(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class ResultCache:
    """``get``/``put`` JSON-able results by kept vector under one fingerprint."""

    def __init__(self, key: str, path: Path | None = None) -> None:
        self.key = key
        self.memory: dict[str, dict] = {}
        self.db: sqlite3.Connection | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(path, timeout=30)
                self.db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT, kept TEXT, result TEXT, PRIMARY KEY (key, kept))")
                self.db.commit()
            except (sqlite3.Error, OSError):
                self.db = None  # read-only location: memory only

    def get(self, kept: Sequence[int]) -> dict | None:
        k = ",".join(map(str, kept))
        if k in self.memory:
            return self.memory[k]
        if self.db is not None:
            row = self.db.execute("SELECT result FROM results WHERE key=? AND kept=?", (self.key, k)).fetchone()
            if row:
                self.memory[k] = json.loads(row[0])
                return self.memory[k]
        return None

    def put(self, kept: Sequence[int], result: dict) -> None:
        k = ",".join(map(str, kept))
        self.memory[k] = result
        if self.db is not None:
            try:
                self.db.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", (self.key, k, json.dumps(result)))
                self.db.commit()
            except sqlite3.Error:
                self.db = None

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
