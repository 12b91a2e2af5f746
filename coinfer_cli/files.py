"""Output directories, checked before any work starts."""

from __future__ import annotations

import tempfile
from pathlib import Path


def check_writable_dir(path: Path, flag: str) -> None:
    """Fail now, not after hours of work, if ``path`` cannot become a writable directory.

    Creates nothing that stays: a directory that does not exist yet is judged by
    its nearest existing parent, and the probe is a temporary file removed at once
    (``os.access`` would not do: it says yes to root on a read-only file system).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{flag} {path} is an existing file: give a directory")
    probe = path.absolute()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise NotADirectoryError(f"{flag} {path}: {probe} is a file, so no directory can be made there")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as err:
        raise PermissionError(f"{flag} {path} is not writable ({probe}: {err.strerror}): choose another directory") from None
