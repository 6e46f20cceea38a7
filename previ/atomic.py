"""Write outputs all-or-nothing.

A command that fails part way must leave nothing behind: no half-written
Parquet file, no folder with two tables out of seven. Outputs are written to a
temporary sibling and moved into place with ``os.replace`` only once complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        temporary_path.replace(path)
    finally:
        temporary_path.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; rename it onto ``path`` on success.

    An existing ``path`` is replaced only after the new content is complete
    (``overwrite=False`` keeps files already in ``path`` that the new content
    does not replace). On failure the temporary folder is removed and ``path``
    is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield temporary
        if path.exists() and not overwrite:
            for item in temporary.iterdir():
                target = path / item.name
                if target.is_dir():
                    shutil.rmtree(target)
                item.replace(target)
            return
        if path.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            path.replace(backup / "old")
            temporary.replace(path)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            temporary.replace(path)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
