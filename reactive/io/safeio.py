"""Reading ``.npz`` / ``.npy`` files that may be broken or hostile, without trusting them.

``np.load`` decompresses every member of an archive, unknown ones too, allocates whatever
shape a member's header declares, and raises a zoo of exceptions (``BadZipFile``,
``EOFError``, ``NotImplementedError`` for an unknown compression method, ``RuntimeError``
for an encrypted member, a memory error for a header declaring terabytes). Here every
member we want is checked before anything is inflated or allocated:

- the zip entry: stored or deflated, not encrypted, its declared size within the budget;
- the ``.npy`` header (read from the first bytes of the entry): the exact dtype (no object
  arrays, no pickle), a shape of the expected form whose named dimensions agree
  across members and stay within their bounds, and an entry size equal to header + data;
- the sum of the sizes of the members read stays within ``max_bytes``.

Members that are not asked for are never opened. Whatever is wrong becomes one
:class:`BadFile` (a ``ValueError``) with a short reason; callers add the file name.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

#: A dimension of an expected shape: an exact size, or a name whose size is read from the
#: file (the same name must have the same size in every member, within its bounds).
Dim = Union[int, str]

# What a broken file can make zipfile / numpy raise while we read it.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
                EOFError, OSError, ValueError, struct.error, zlib.error, UnicodeDecodeError,
                KeyError, OverflowError, SyntaxError, TypeError)


class BadFile(ValueError):
    """The file is not what it should be; the message says what, without the file name."""


@dataclass(frozen=True)
class Member:
    """One expected array: its dtype (exactly, byte order included) and shape."""

    dtype: str
    shape: tuple[Dim, ...]
    required: bool = True


def read_npz(source: str | os.PathLike | bytes, members: dict[str, Member], *,
             bounds: dict[str, tuple[int, int]], max_bytes: int) -> dict[str, np.ndarray]:
    """The arrays ``members`` (name -> expected form) of an ``.npz`` file or its bytes.

    ``bounds``: name of a dimension -> (min, max) inclusive. ``max_bytes``: the most the
    members together may hold once decompressed. Members not in ``members`` are ignored
    unread; a missing required member, or any problem above, raises :class:`BadFile`.
    """
    try:
        fh = io.BytesIO(source) if isinstance(source, bytes) else open(Path(source), "rb")
    except OSError as exc:
        raise BadFile(f"cannot read it ({exc.strerror or exc})") from None
    try:
        with fh, zipfile.ZipFile(fh) as zf:
            infos = {}
            for info in zf.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else None
                if name in members:
                    infos[name] = info
            missing = [n for n, m in members.items() if m.required and n not in infos]
            if missing:
                raise BadFile(f"member `{missing[0]}` is missing")
            total = 0
            for name, info in infos.items():
                if info.flag_bits & 0x1:
                    raise BadFile(f"member `{name}` is encrypted")
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise BadFile(f"member `{name}` uses an unsupported compression method "
                                  f"({info.compress_type})")
                total += info.file_size
                if total > max_bytes:
                    raise BadFile(f"its arrays would take more than {max_bytes >> 20} MB")
            # Headers first (a few hundred bytes of each member): every shape is known and
            # agreed before a single array is allocated.
            sizes: dict[str, int] = {}
            plans = {}
            for name, info in infos.items():
                with zf.open(info) as member:
                    plans[name] = _plan(member, info.file_size, name, members[name], sizes,
                                        bounds)
            arrays = {}
            for name, info in infos.items():
                dtype, shape, offset, fortran = plans[name]
                with zf.open(info) as member:
                    member.read(offset)
                    arrays[name] = _read_exact(member, dtype, shape, fortran, name)
            return arrays
    except BadFile:
        raise
    except MemoryError:
        raise BadFile("its arrays do not fit in memory") from None
    except _READ_ERRORS as exc:
        raise BadFile(_reason(exc)) from None


def read_npy(path: str | os.PathLike, expected: Member, *, bounds: dict[str, tuple[int, int]],
             max_bytes: int) -> np.ndarray:
    """One ``.npy`` file of the ``expected`` form (see :func:`read_npz`)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes + 4096:
            raise BadFile(f"it is larger than {max_bytes >> 20} MB")
        with open(path, "rb") as fh:
            dtype, shape, _, fortran = _plan(fh, size, path.name, expected, {}, bounds)
            return _read_exact(fh, dtype, shape, fortran, path.name)
    except BadFile:
        raise
    except MemoryError:
        raise BadFile("its array does not fit in memory") from None
    except _READ_ERRORS as exc:
        raise BadFile(_reason(exc)) from None


def _plan(fh, file_size: int, name: str, expected: Member, sizes: dict[str, int],
          bounds: dict[str, tuple[int, int]]) -> tuple[np.dtype, tuple[int, ...], int, bool]:
    """Read and check one ``.npy`` header -> (dtype, shape, header length, Fortran order)."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        raise BadFile(f"`{name}`: unknown .npy version {version}")
    offset = fh.tell()
    want = np.dtype(expected.dtype)
    if dtype != want or dtype.hasobject:
        raise BadFile(f"`{name}` holds {dtype.str}, expected {want.str}")
    if len(shape) != len(expected.shape):
        raise BadFile(f"`{name}` has shape {shape}, expected {len(expected.shape)} dimensions")
    for got, dim in zip(shape, expected.shape):
        if isinstance(dim, int):
            if got != dim:
                raise BadFile(f"`{name}` has shape {shape}; expected "
                              f"{tuple(expected.shape)}")
            continue
        lo, hi = bounds[dim]
        if not lo <= got <= hi:
            raise BadFile(f"`{name}` has shape {shape}: {dim} = {got} is outside {lo}-{hi}")
        if sizes.setdefault(dim, got) != got:
            raise BadFile(f"`{name}` has shape {shape}: {dim} = {got}, other arrays have "
                          f"{sizes[dim]}")
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if offset + nbytes != file_size:
        raise BadFile(f"`{name}` holds {file_size - offset} bytes of data, its header "
                      f"declares {nbytes}")
    return dtype, tuple(int(v) for v in shape), offset, bool(fortran)


def _read_exact(fh, dtype: np.dtype, shape: tuple[int, ...], fortran: bool,
                name: str) -> np.ndarray:
    """The array's bytes into a new array (np.save writes Fortran-ordered arrays as such);
    C-contiguous on return."""
    out = np.empty(shape, dtype, order="F" if fortran else "C")
    view = memoryview(out.reshape(-1, order="A").view(np.uint8))
    done = 0
    while done < len(view):
        n = fh.readinto(view[done:]) if hasattr(fh, "readinto") else 0
        if not n:
            chunk = fh.read(len(view) - done)
            if not chunk:
                raise BadFile(f"`{name}` is cut short")
            view[done:done + len(chunk)] = chunk
            n = len(chunk)
        done += n
    if fh.read(1):
        raise BadFile(f"`{name}` has data past its end")
    return np.ascontiguousarray(out)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "it is cut short"
    if isinstance(exc, zlib.error):
        return "its compressed data is corrupt"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, zipfile.BadZipFile):
        return f"not a valid zip archive: {text}"
    return text
