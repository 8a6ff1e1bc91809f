"""Files as data: bounded reads of ``.keras`` zip archives and atomic writes.

Nothing here extracts an archive to disk or trusts a size a file declares. An entry is read by its
exact name, in chunks, and reading stops with a ``ValueError`` as soon as it passes its limit, so a
zip bomb (a small entry that inflates to gigabytes) or a lying header costs at most the limit in
memory. Names with ``..``, absolute paths or backslashes are refused outright even though nothing
is ever written under them (a Keras archive never has such names; their presence means a crafted
file).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import zipfile
from typing import Any, Callable, Iterator

__all__ = ["SafeArchive", "atomic_write", "MAX_JSON_BYTES", "MAX_WEIGHTS_BYTES", "MAX_RATIO"]

MAX_JSON_BYTES = 64 << 20  # config.json / metadata.json: far above any real model's config
MAX_WEIGHTS_BYTES = 64 << 30  # model.weights.h5: 64 GiB
MAX_RATIO = 100  # a compressed entry may inflate at most 100x (Keras's loader uses the same ratio)
_RATIO_FLOOR = 1 << 20  # below 1 MiB inflated, the ratio is not checked (tiny JSON compresses well)


class SafeArchive:
    """A read-only view of a ``.keras`` zip that hands out entries by exact name, with limits."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"No file or directory found at {self.path}")
        if os.path.isdir(self.path):
            raise ValueError(f"{self.path} is a directory; expected a `.keras` file (a zip archive).")
        size = os.path.getsize(self.path)
        if size == 0:
            raise ValueError(f"The file {self.path} is empty; expected a `.keras` archive (a zip file).")
        try:
            self._zip = zipfile.ZipFile(self.path, "r")
        except zipfile.BadZipFile as e:
            with open(self.path, "rb") as f:
                head = f.read(8)
            kind = "an HDF5 file (use load_weights for `.weights.h5`)" if head.startswith(b"\x89HDF") else \
                "not a zip archive (truncated, corrupted, or a different format)"
            raise ValueError(f"Cannot read {self.path} as a `.keras` archive: it is {kind}. ({e})") from None
        except (OSError, EOFError, RuntimeError) as e:
            raise ValueError(f"Cannot read {self.path} as a `.keras` archive: {e}") from None
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in self._zip.infolist():
            name = info.filename
            if name.startswith(("/", "\\")) or "\\" in name or ".." in name.split("/") or ":" in name:
                self._zip.close()
                raise ValueError(
                    f"Refusing {self.path}: the archive holds an entry with an unsafe name {name!r} "
                    "(absolute path, '..' or a drive). A `.keras` file never does; it was crafted or corrupted."
                )
            if name in self._infos:
                self._zip.close()
                raise ValueError(f"Refusing {self.path}: the entry {name!r} appears twice in the archive.")
            self._infos[name] = info

    def names(self) -> list[str]:
        return list(self._infos)

    def __contains__(self, name: str) -> bool:
        return name in self._infos

    def read(self, name: str, limit: int) -> bytes:
        """The bytes of entry ``name``; ``ValueError`` if it is missing, corrupt, or inflates past ``limit``."""
        info = self._infos.get(name)
        if info is None:
            raise ValueError(f"The archive {self.path} has no `{name}` (entries: {sorted(self._infos)}); "
                             "it is not a Keras 3 `.keras` file or it is incomplete.")
        if info.file_size > limit:
            raise ValueError(f"Refusing {self.path}: `{name}` declares {info.file_size} bytes, above the "
                             f"limit of {limit} bytes for this entry.")
        ratio_cap = max(_RATIO_FLOOR, MAX_RATIO * max(1, info.compress_size))
        cap = min(limit, ratio_cap) if info.compress_type != zipfile.ZIP_STORED else limit
        out = io.BytesIO()
        try:
            with self._zip.open(info, "r") as f:
                while True:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)
                    if out.tell() > cap:
                        why = (f"inflates more than {MAX_RATIO}x its compressed size ({info.compress_size} bytes): "
                               "a zip bomb") if cap < limit else f"is larger than the limit of {limit} bytes"
                        raise ValueError(f"Refusing {self.path}: `{name}` {why}.")
        except ValueError:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, Exception) as e:  # noqa: BLE001
            # zlib.error, struct.error, CRC mismatch ("Bad CRC-32") or a truncated member all land here.
            raise ValueError(f"Cannot read `{name}` from {self.path}: the archive is corrupted or truncated "
                             f"({type(e).__name__}: {e}).") from None
        return out.getvalue()

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "SafeArchive":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file beside ``path``; on success fsync it and rename it over ``path``.

    An exception (or a kill) before the rename leaves any previous file at ``path`` untouched and
    removes the temporary file (after a kill, a ``.<name>.*.tmp`` file may remain beside it).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save to {path}: the directory {directory} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_with(path: str | os.PathLike, writer: Callable[[str], None]) -> None:
    """Run ``writer(tmp_path)`` (for writers that need a file name, like h5py) and rename on success."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save to {path}: the directory {directory} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        writer(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
