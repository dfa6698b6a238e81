"""Writing a user's file: whole or not at all, and never over a file the user did not give up.

Every file vaetools writes (.vtz, saved models, the command line's tables) goes through
``write_atomically``: the content goes to a temporary file beside the destination, which then
takes the destination's name in one step. A crash or a full disk leaves the destination as it
was; without ``overwrite`` a file that appears at the destination while a long fit runs is
kept (a hard link cannot replace an existing name), and the new file gets the permissions a
plain ``open`` would give it, not the owner-only ones of a temporary file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def exists_error(path: Path) -> FileExistsError:
    return FileExistsError(f"{path} exists; pass overwrite=True (CLI: --overwrite) to replace it")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path, write: Callable[[Path], None], overwrite: bool = False) -> None:
    """Call ``write(tmp)`` to fill a temporary file beside ``path``, then give it ``path``'s name.

    Raises FileExistsError, leaving ``path`` untouched, when it exists and ``overwrite`` is false,
    whether it existed before the call or appeared while ``write`` ran."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise exists_error(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        if overwrite:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)  # fails, atomically, if the name is taken
        except FileExistsError:
            raise exists_error(path) from None
        except OSError:  # a file system without hard links: the check above is all we have
            if path.exists():
                raise exists_error(path) from None
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
