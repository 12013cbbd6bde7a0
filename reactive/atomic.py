"""Publishing a finished temp file: nothing half-written is ever seen under the real name."""

from __future__ import annotations

import os


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
