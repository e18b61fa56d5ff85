"""Atomic file writes and content hashes.

Every artifact is written to a temporary file in the destination folder and renamed into
place, so a failed run never leaves a half-written file or overwrites a good one. Temporary names
are ``.<name>.<pid>.<random>``: a run killed with SIGKILL cannot remove its own, so the next write
of the same artifact removes those of processes that no longer exist.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    ``suffix`` defaults to the destination's suffix, so writers that infer the format from the
    extension (pandas, matplotlib, torch) behave as for the real file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(path)
    fd, tmp_name = tempfile.mkstemp(prefix=_staging_prefix(path), suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary folder next to ``path``; on success it replaces ``path`` whole.

    If the block raises, the old folder is untouched and the temporary one is removed. The replacement
    happens under an exclusive lock on the parent folder, so processes writing the same folder at once
    (the ranks of a DDP fit each run the step) replace it in turn instead of failing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(path)
    tmp = Path(tempfile.mkdtemp(prefix=_staging_prefix(path), dir=path.parent))
    try:
        yield tmp
        with _folder_lock(path.parent):
            if path.exists():
                old = Path(tempfile.mkdtemp(prefix=_staging_prefix(path) + "old.", dir=path.parent))
                os.replace(path, old / path.name)
                os.replace(tmp, path)
                shutil.rmtree(old)
            else:
                os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``folder`` itself (no lock file is left in it) for the block."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _staging_prefix(path: Path) -> str:
    """``.<name>.<pid>.``: prefix of this process's temporary siblings of ``path``."""
    return f".{path.name}.{os.getpid()}."


def remove_stale_staging(path: str | os.PathLike) -> list[Path]:
    """Remove temporary siblings of ``path`` left by processes that no longer run; return them."""
    path = Path(path)
    removed = []
    for candidate in path.parent.glob(f".{glob.escape(path.name)}.*"):
        pid = candidate.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_exists(int(pid)):
            shutil.rmtree(candidate) if candidate.is_dir() else candidate.unlink()
            removed.append(candidate)
    return removed


def _process_exists(pid: int) -> bool:
    """True when a process with ``pid`` exists (possibly another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented, key-sorted JSON (deterministic bytes) atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    """Turn numpy scalars/arrays and paths into JSON values."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def file_md5(path: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    """Hex MD5 of a file's bytes."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_md5(root: str | os.PathLike) -> str:
    """Hex MD5 over the relative names and contents of every file below ``root`` (sorted)."""
    root = Path(root)
    digest = hashlib.md5()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(file_md5(file).encode())
    return digest.hexdigest()
