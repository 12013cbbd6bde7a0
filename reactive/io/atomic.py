"""Writing files atomically: nothing half-written is ever seen under the real name.

Every file the project writes (clip packs, cache entries, videos, images) goes to a hidden
temporary file in the target's folder first and is renamed into place once complete; on any
error (or Ctrl+C) the temporary file is deleted.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import BinaryIO, Callable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Give ``tmp`` the permissions a normally created file would have (``mkstemp`` makes
    it owner-only) and rename it to ``path`` atomically."""
    try:
        os.chmod(tmp, 0o666 & ~_umask())
    except OSError:  # some filesystems refuse chmod; the file is still good
        pass
    os.replace(tmp, path)


def temp_path(folder: Path, name: str, suffix: str = "") -> Path:
    """Create an empty hidden ``.<name>.tmp-XXXXXXXX<suffix>`` in ``folder`` and return it.

    The real suffix is kept, so an encoder that picks its format by suffix still can.
    Raises OSError when the folder cannot be written.
    """
    while True:
        tmp = Path(folder) / f".{name}.tmp-{secrets.token_hex(4)}{suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], None], *,
                     fsync: bool = False) -> Path:
    """Write ``path`` through ``write(fh)`` on a temporary file, then rename it into place.

    ``fsync``: flush to disk before the rename (a file that must survive a power cut).
    Raises OSError when the folder cannot be written; the temporary file never stays.
    """
    path = Path(path)
    tmp = temp_path(path.parent, path.name, path.suffix)
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        publish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
