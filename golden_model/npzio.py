"""Reading and writing ``.npz`` files without pickle, with errors that name the file."""

from __future__ import annotations

import io
import math
import os
import zipfile
from collections.abc import Mapping

import numpy as np

from .atomic import atomic_file
from .errors import ScsrError
from .limits import check_bytes

_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"


def read_npz(data: bytes, where: str) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` given as bytes; pickled (object) arrays are refused."""
    if data.startswith(_NPY_MAGIC):
        raise ScsrError(where, "", "is a single .npy array, not an .npz archive of named arrays")
    if not data.startswith(_ZIP_MAGIC):
        raise ScsrError(where, "", "is not a readable .npz file (no zip archive header)")
    try:
        _check_sizes(data, where)
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ScsrError(where, "", "holds object arrays, which need pickle; only plain "
                                       "numeric arrays are accepted") from None
        raise ScsrError(where, "", f"is not a readable .npz file ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ScsrError(where, "", f"is not a readable .npz file ({exc})") from None


def _check_sizes(data: bytes, where: str) -> None:
    """Refuse, before decompressing anything, an archive whose members would not fit in
    memory: by the sizes its directory declares (what zipfile will read at most) and the
    shape each array's header declares (what numpy allocates)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [m for m in archive.infolist() if m.filename.endswith(".npy")]
        check_bytes(where, "", sum(m.file_size for m in members), "decompresses to")
        for member in members:
            with archive.open(member) as handle:
                header = (np.lib.format.read_array_header_1_0
                          if np.lib.format.read_magic(handle) == (1, 0)
                          else np.lib.format.read_array_header_2_0)
                shape, _, dtype = header(handle)
            if dtype.hasobject:
                continue  # refused by np.load without pickle, with its own message
            check_bytes(where, member.filename.removesuffix(".npy"),
                        math.prod(shape) * dtype.itemsize,
                        f"declares a {'x'.join(map(str, shape)) or 'scalar'} {dtype} array of")


def read_npz_file(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """:func:`read_npz` of a file, with a clear error if it does not exist."""
    where = os.fspath(path)
    try:
        with open(where, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise ScsrError(where, "", "does not exist") from None
    except IsADirectoryError:
        raise ScsrError(where, "", "is a directory, not an .npz file") from None
    return read_npz(data, where)


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """Serialise arrays as an uncompressed ``.npz`` (deterministic bytes for equal input)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{key: np.asarray(value) for key, value in arrays.items()})
    return buffer.getvalue()


def save_npz(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> None:
    """Write arrays to ``path`` as an ``.npz``, atomically."""
    with atomic_file(path) as handle:
        handle.write(npz_bytes(arrays))
