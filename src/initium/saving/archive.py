"""Files as data: bounded reads of ``.keras`` zip archives and atomic writes.

Nothing here extracts an archive to disk or trusts a size a file declares. An entry is read by its
exact name, in chunks, and reading stops with a ``ValueError`` as soon as it passes its limit, so a
zip bomb (a small entry that inflates to gigabytes) or a lying header costs at most the limit in
memory. Names with ``..``, absolute paths or backslashes are refused outright even though nothing
is ever written under them (a Keras archive never has such names; their presence means a crafted
file). Readers that seek (h5py) get a stored entry as a window on the archive file
(:meth:`SafeArchive.member`), CRC-checked first, so a large ``model.weights.h5`` is never copied
into memory.

Writes are atomic (a temporary file beside the target, renamed over it) and otherwise behave like
``open(path, "w")``: the umask decides a new file's mode, an existing file keeps its mode, a
symlink stays a link to its (updated) target, and the temporary files of killed writers are
removed by the next save of the same target.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import stat
import struct
import zipfile
import zlib
from typing import Any, Callable, Iterator

__all__ = ["SafeArchive", "Member", "atomic_write", "MAX_JSON_BYTES", "MAX_WEIGHTS_BYTES", "MAX_RATIO"]

MAX_JSON_BYTES = 64 << 20  # config.json / metadata.json: far above any real model's config
MAX_WEIGHTS_BYTES = 64 << 30  # model.weights.h5: 64 GiB
MAX_RATIO = 100  # a compressed entry may inflate at most 100x (Keras's loader uses the same ratio)
_RATIO_FLOOR = 1 << 20  # below 1 MiB inflated, the ratio is not checked (tiny JSON compresses well)


_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # a zip entry's local header: signature ... name and extra lengths


class Member:
    """One checked archive entry: a window on the archive file (stored entries) or inflated bytes."""

    def __init__(self, path: str, start: int = 0, size: int = 0, data: bytes | None = None) -> None:
        self.path, self._start, self._size, self._data = path, start, size, data

    def open(self) -> io.RawIOBase:
        """A fresh read-only, seekable binary file over the entry's bytes (close it after use)."""
        if self._data is not None:
            return io.BytesIO(self._data)
        return _Window(self.path, self._start, self._size)


class _Window(io.RawIOBase):
    """Bytes ``[start, start + size)`` of a file, as a read-only seekable file of its own."""

    def __init__(self, path: str, start: int, size: int) -> None:
        super().__init__()
        self._f = open(path, "rb", buffering=0)
        self._start, self._size, self._pos = start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), self._size - self._pos))
        if n == 0:
            return 0
        self._f.seek(self._start + self._pos)
        got = self._f.readinto(memoryview(buffer).cast("B")[:n]) or 0
        self._pos += got
        return got

    def close(self) -> None:
        self._f.close()
        super().close()


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

    def _info(self, name: str, limit: int) -> zipfile.ZipInfo:
        """The entry ``name``; ``ValueError`` if it is missing or declares more than ``limit`` bytes."""
        info = self._infos.get(name)
        if info is None:
            raise ValueError(f"The archive {self.path} has no `{name}` (entries: {sorted(self._infos)}); "
                             "it is not a Keras 3 `.keras` file or it is incomplete.")
        if info.file_size > limit:
            raise ValueError(f"Refusing {self.path}: `{name}` declares {info.file_size} bytes, above the "
                             f"limit of {limit} bytes for this entry.")
        return info

    def read(self, name: str, limit: int) -> bytes:
        """The bytes of entry ``name``; ``ValueError`` if it is missing, corrupt, or inflates past ``limit``."""
        info = self._info(name, limit)
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

    def member(self, name: str, limit: int) -> "Member":
        """Entry ``name``, checked, for readers that seek (h5py) without copying it into memory.

        An uncompressed entry (Keras stores all three) is CRC-checked by streaming through it once,
        then read in place from the archive file by :meth:`Member.open`; a compressed one is
        inflated into memory by :meth:`read`, with its limits. ``ValueError`` if it is missing,
        too large, encrypted, outside the file or damaged.
        """
        info = self._info(name, limit)
        if info.compress_type != zipfile.ZIP_STORED:
            return Member(self.path, data=self.read(name, limit))
        if info.flag_bits & 0x1 or info.compress_size != info.file_size:
            raise ValueError(f"Cannot read `{name}` from {self.path}: the entry is encrypted or its sizes disagree "
                             f"({info.compress_size} stored, {info.file_size} declared).")
        member = Member(self.path, start=self._data_offset(info), size=info.file_size)
        crc = 0
        with member.open() as f:
            while chunk := f.read(1 << 20):
                crc = zlib.crc32(chunk, crc)
        if crc != info.CRC:
            raise ValueError(f"Cannot read `{name}` from {self.path}: the archive is corrupted or truncated "
                             f"(Bad CRC-32 for file {name!r}).")
        return member

    def _data_offset(self, info: zipfile.ZipInfo) -> int:
        """Where a stored entry's bytes start: after its local header, which must name the same entry."""
        with open(self.path, "rb") as f:
            f.seek(info.header_offset)
            header = f.read(_LOCAL_HEADER.size)
            ok = len(header) == _LOCAL_HEADER.size and header.startswith(b"PK\x03\x04")
            _, _, flags, *_, name_len, extra_len = _LOCAL_HEADER.unpack(header) if ok else (0,) * 11
            name = f.read(name_len).decode("utf-8" if flags & 0x800 else "cp437", "replace")
        start = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
        if not ok or name != info.filename or start + info.file_size > os.path.getsize(self.path):
            raise ValueError(f"Cannot read `{info.filename}` from {self.path}: the archive is corrupted or truncated "
                             "(its local header is missing, names another entry, or its data runs past the end).")
        return start

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "SafeArchive":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file beside ``path``'s target; on success fsync it and rename it over the target.

    An exception before the rename leaves any previous file untouched and removes the temporary
    file. A process killed mid-write leaves its ``.NAME.<pid>.<host>.<random>.tmp`` behind; the next
    save to the same target on the same host removes it once that process is gone.
    """
    target, fd, tmp = _open_temporary(path)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _commit(tmp, target)
    except BaseException:
        _discard(tmp)
        raise


def atomic_write_with(path: str | os.PathLike, writer: Callable[[str], None]) -> None:
    """Run ``writer(tmp_path)`` (for writers that need a file name, like h5py) and rename on success."""
    target, fd, tmp = _open_temporary(path)
    os.close(fd)
    try:
        writer(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _commit(tmp, target)
    except BaseException:
        _discard(tmp)
        raise


# --------------------------------------------------------------------------- the manners of a save
# A save behaves like ``open(path, "w")`` as far as anyone looking at the file can tell: a new file
# gets 0666 minus the umask, an existing one keeps its mode, and a symlink keeps pointing where it
# pointed (the target is replaced, not the link). Only the moment of the switch differs: readers see
# the old file or the new one, never half of one.
#
# A temporary file is named ``.NAME.<pid>.<host>.<random>.tmp``: the writer's process id, and a tag
# of its host name, so that a save only ever judges (and removes) temporaries of its own machine,
# where a process id means something (a directory may be shared over the network).
_TMP_SUFFIX = ".tmp"


def _host_tag() -> str:
    import hashlib
    import socket

    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _temporary_name(base: str) -> str:
    return f".{base}.{os.getpid()}.{_host_tag()}.{secrets.token_hex(6)}{_TMP_SUFFIX}"


def _temporary_pattern(base: str) -> "re.Pattern[str]":
    """Matches this host's temporaries of ``base``; group 1 is the writer's process id."""
    return re.compile(re.escape(f".{base}.") + r"(\d+)\." + re.escape(_host_tag()) + r"\.[0-9a-f]+"
                      + re.escape(_TMP_SUFFIX))


def _open_temporary(path: str | os.PathLike) -> tuple[str, int, str]:
    """``(target, fd, tmp)``: the real file ``path`` names, and a new temporary file beside it.

    The temporary file is created with mode 0666 (the kernel takes the umask off, as for any new
    file), then given the target's mode if the target exists. Stale temporary files of the same
    target, left by writers that were killed, are removed first.
    """
    path = os.fspath(path)
    target = os.path.realpath(path)  # a symlink: write beside what it points to, rename over that
    directory, base = os.path.split(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save to {path}: the directory {directory} does not exist.")
    _remove_stale_temporaries(directory, base)
    while True:
        tmp = os.path.join(directory, _temporary_name(base))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:  # 48 random bits collided: draw again
            continue
    try:
        os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
    except FileNotFoundError:
        pass  # a new file: the umask already applied
    except BaseException:
        os.close(fd)
        _discard(tmp)
        raise
    return target, fd, tmp


def _remove_stale_temporaries(directory: str, base: str) -> None:
    """Delete this host's temporaries of ``base`` whose writer process no longer exists."""
    pattern = _temporary_pattern(base)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _process_alive(int(match.group(1))):
            _discard(os.path.join(directory, name))


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a process of another user counts as alive)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True  # another save of this process (a thread) may be writing it right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists but is not ours, or the check is impossible: leave its file alone
    return True


def _commit(tmp: str, target: str) -> None:
    """Rename ``tmp`` over ``target`` and make the rename itself durable (fsync of the directory)."""
    os.replace(tmp, target)
    if hasattr(os, "O_DIRECTORY"):
        with contextlib.suppress(OSError):
            fd = os.open(os.path.dirname(target), os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _discard(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)
