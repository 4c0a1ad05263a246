"""Files written atomically: a temporary name beside the final one, renamed only when
complete, so an error or an interrupt never leaves a partial output under the final
name; and the SHA-256 that provenance records of inputs and models.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from evmult.errors import InputError

__all__ = ["atomic_directory", "atomic_path", "file_sha256"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success.

    A failure (or Ctrl-C) inside the block removes the temporary file, so no partial
    output is ever left under the final name.

    Args:
        path: the final output path.
        force: overwrite an existing file.

    Raises:
        InputError: if ``path`` exists and ``force`` is false, or its directory is missing.
    """
    path = Path(path)
    if path.exists() and not force:
        msg = f"{path}: exists; pass --force (force=True) to overwrite"
        raise InputError(msg)
    if not path.parent.is_dir():
        msg = f"{path}: directory {path.parent} does not exist"
        raise InputError(msg)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        Path(tmp).chmod(0o666 & ~_umask())  # mkstemp made it 0600; outputs are shared
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; it becomes ``path`` only on success.

    An existing ``path`` is replaced (with ``force``) only once the new content is
    complete; a failure or Ctrl-C inside the block removes the temporary directory and
    leaves any old ``path`` untouched.

    Args:
        path: the final directory.
        force: replace an existing, non-empty directory.

    Raises:
        InputError: if ``path`` is a file, or a non-empty directory and ``force`` is
            false.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        msg = f"{path}: exists and is not a directory"
        raise InputError(msg)
    if path.is_dir() and any(path.iterdir()) and not force:
        msg = f"{path}: exists and is not empty; pass --force (force=True) to replace it"
        raise InputError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        tmp.chmod(0o777 & ~_umask())  # mkdtemp made it 0700
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            path.replace(old / path.name)
        tmp.replace(path)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks (provenance of inputs and models)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
