"""``get_file``: download a file once into Keras's cache, check its hash, and unpack archives safely.

Keras's cache layout and rules (``keras.utils.get_file``, 3.15.1): files land in
``<cache_dir>/<cache_subdir>/<fname>``, where ``cache_dir`` defaults to ``$KERAS_HOME`` or
``~/.keras`` and ``cache_subdir`` to ``"datasets"``; a cached file is reused unless its hash no
longer matches; ``file_hash`` is SHA-256 when it has 64 hex digits and MD5 otherwise
(``hash_algorithm="auto"``); ``extract=True`` unpacks a tar or zip archive into
``<fname>_extracted`` (or ``<fname>`` when the archive is kept as ``<fname>_archive``) and returns
that folder.

Where initium is stricter than Keras, deliberately:

- **Atomic writes.** The download goes to a temporary file in the same folder, is checked against
  ``file_hash``, and only then renamed over the target (``os.replace``). An interrupted or
  corrupted download never leaves a file under the cached name (Keras writes in place and leaves a
  file that fails its hash there). Archives are unpacked into a temporary folder that is renamed
  into place once every member is out.
- **Archives are refused, not filtered.** A member with an absolute path, a drive letter, a ``..``
  component, a link that points outside the folder, or a device/FIFO entry makes the whole
  archive refused with a ``ValueError`` naming the member; nothing is extracted. (Keras skips such
  members with a warning and extracts the rest; CVE-2025-12060 and GHSA-hqp4-2352-xf5r were path
  traversals through this function.) Tar members are also extracted under Python's ``"data"``
  filter.
- **Cached archives are not re-extracted.** Keras unpacks again on every call; here a cached
  archive whose folder exists is not touched (a fresh download is always unpacked).
- **Errors.** A network or HTTP failure raises ``OSError`` whose message starts, as Keras's
  ``Exception`` does, with ``URL fetch failure on <origin>: ...`` and says where to put the file
  by hand. An unknown ``hash_algorithm`` raises ``ValueError`` (Keras silently uses MD5).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from typing import Any

__all__ = ["get_file", "hash_file", "validate_file", "keras_home", "extract_archive"]

_CHUNK = 1 << 16
_TIMEOUT_S = 60.0  # seconds without a byte before a download is abandoned (Keras waits forever)
_ALGORITHMS = ("auto", "sha256", "md5")


def keras_home() -> str:
    """``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` when the home folder is not writable)."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    base = os.path.expanduser("~")
    return os.path.join(base if os.access(base, os.W_OK) else tempfile.gettempdir(), ".keras")


def _hasher(algorithm: str, file_hash: str | None = None) -> Any:
    import hashlib

    if algorithm not in _ALGORITHMS:
        raise ValueError(f"`hash_algorithm` must be one of {list(_ALGORITHMS)}. Received: hash_algorithm={algorithm!r}")
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    return hashlib.md5()


def hash_file(fpath: str | os.PathLike, algorithm: str = "sha256", chunk_size: int = _CHUNK) -> str:
    """The hex digest of a file (``"sha256"`` or ``"md5"``; ``"auto"`` means MD5 here, as in Keras)."""
    return _digest(fpath, _hasher(algorithm), chunk_size)


def validate_file(fpath: str | os.PathLike, file_hash: str, algorithm: str = "auto",
                  chunk_size: int = _CHUNK) -> bool:
    """Whether the file's digest equals ``file_hash`` (case-insensitive hex)."""
    return _digest(fpath, _hasher(algorithm, file_hash), chunk_size) == str(file_hash).lower()


def _digest(fpath: str | os.PathLike, hasher: Any, chunk_size: int) -> str:
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _algorithm_name(algorithm: str, file_hash: str) -> str:
    return "sha256" if algorithm == "sha256" or (algorithm == "auto" and len(file_hash) == 64) else "md5"


def get_file(fname: str | os.PathLike | None = None, origin: str | None = None, untar: bool = False,
             md5_hash: str | None = None, file_hash: str | None = None, cache_subdir: str = "datasets",
             hash_algorithm: str = "auto", extract: bool = False, archive_format: Any = "auto",
             cache_dir: str | os.PathLike | None = None, force_download: bool = False) -> str:
    """Download ``origin`` into the cache unless it is already there; return the local path.

    Args:
        fname: the file's name in the cache (a name, not a path); ``None`` takes the URL's last
            path component.
        origin: the URL (``http(s)://``, ``ftp://`` or ``file://``).
        untar: deprecated in Keras; ``extract=True`` with ``archive_format="tar"``.
        md5_hash: deprecated in Keras; ``file_hash`` with ``hash_algorithm="md5"``.
        file_hash: the expected hex digest; a cached file that does not match is downloaded again,
            and a download that does not match raises ``ValueError``.
        cache_subdir: the folder under ``cache_dir`` (may be nested: ``"datasets/fashion-mnist"``).
        hash_algorithm: ``"auto"``, ``"sha256"`` or ``"md5"``.
        extract: unpack the archive and return the folder it went to.
        archive_format: ``"auto"`` (tar then zip), ``"tar"``, ``"zip"``, a list of those, or ``None``.
        cache_dir: the cache's root; ``None`` means ``$KERAS_HOME`` or ``~/.keras``.
        force_download: download even when a valid cached copy exists.

    Returns:
        The downloaded file's path, or with ``extract``/``untar`` the extraction folder.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    _hasher(hash_algorithm)  # an unknown algorithm fails before anything is downloaded
    datadir = _cache_folder(cache_dir, cache_subdir)
    provided = os.fspath(fname) if fname is not None else None
    name = provided or _name_from_url(origin)
    if os.sep in name or "/" in name or (os.altsep and os.altsep in name) or name in (".", ".."):
        raise ValueError("Paths are no longer accepted as the `fname` argument. To specify the file's parent "
                         f"directory, use the `cache_dir` argument. Received: fname={name}")
    unpack = bool(extract or untar)
    target, extraction_dir = _targets(datadir, name, provided is not None, unpack)
    downloaded = False
    if force_download or not os.path.exists(target):
        _download(origin, target, file_hash, hash_algorithm)
        downloaded = True
    elif file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
        from initium.utils.io_utils import print_msg

        print_msg(f"A local file was found, but it seems to be incomplete or outdated because the "
                  f"{_algorithm_name(hash_algorithm, file_hash)} file hash does not match the original value of "
                  f"{file_hash} so we will re-download the data.")
        _download(origin, target, file_hash, hash_algorithm)
        downloaded = True
    if not unpack:
        return target
    if downloaded or not os.path.isdir(extraction_dir):
        if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
            warnings.warn(f"Could not extract archive {target}: it is not a {archive_format} archive "
                          "(archive_format='auto' tries tar, then zip).", stacklevel=2)
    return extraction_dir


def _name_from_url(origin: str) -> str:
    import urllib.parse

    name = os.path.basename(urllib.parse.urlsplit(origin).path)
    if not name:
        raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'. "
                         "Please specify the `fname` argument.")
    return name


def _cache_folder(cache_dir: Any, cache_subdir: str) -> str:
    """``<cache_dir>/<cache_subdir>``, created; a cache root that cannot be written falls back to
    ``<tmp>/.keras`` (Keras's fallback)."""
    base = os.path.expanduser(os.fspath(cache_dir)) if cache_dir is not None else keras_home()
    datadir = os.path.join(base, cache_subdir)
    try:
        os.makedirs(datadir, exist_ok=True)
        if os.access(datadir, os.W_OK):
            return datadir
    except OSError:
        pass
    fallback = os.path.join(tempfile.gettempdir(), ".keras", cache_subdir)
    warnings.warn(f"get_file: the cache folder {datadir} is not writable; using {fallback}.", stacklevel=3)
    os.makedirs(fallback, exist_ok=True)
    return fallback


def _targets(datadir: str, name: str, provided: bool, unpack: bool) -> tuple[str, str]:
    """Keras's names: ``(download target, extraction folder)``."""
    if not unpack:
        return os.path.join(datadir, name), ""
    if provided and "." in name:
        return os.path.join(datadir, name), os.path.join(datadir, f"{name[:name.find('.')]}_extracted")
    return os.path.join(datadir, f"{name}_archive"), os.path.join(datadir, name)


def _download(origin: str, target: str, file_hash: str | None, hash_algorithm: str) -> None:
    """Fetch ``origin`` into a temporary file beside ``target``, check it, then rename it into place."""
    from initium.utils.io_utils import print_msg

    print_msg(f"Downloading data from {origin}")
    fd, partial = tempfile.mkstemp(dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.",
                                   suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            _fetch(origin, out, target)
        if file_hash is not None and not validate_file(partial, file_hash, hash_algorithm):
            actual = hash_file(partial, _algorithm_name(hash_algorithm, file_hash))
            raise ValueError(f"Incomplete or corrupted file detected. The {_algorithm_name(hash_algorithm, file_hash)} "
                             f"file hash does not match the provided value of {file_hash} (the file downloaded from "
                             f"{origin} hashes to {actual}); nothing was saved to {target}.")
        os.replace(partial, target)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise


def _fetch(origin: str, out: Any, target: str) -> None:
    """Copy the body at ``origin`` into ``out``, with a progress bar of bytes (Keras's)."""
    import http.client
    import urllib.error
    import urllib.request

    from initium.utils.progbar import Progbar

    hint = (f" Check the network connection and the URL, or download the file by other means and save it as "
            f"{target}.")
    try:
        with urllib.request.urlopen(origin, timeout=_TIMEOUT_S) as response:
            length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            total = int(length) if length and length.isdigit() else None
            bar, done = Progbar(total), 0
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                done += len(chunk)
                bar.update(done)
            if total is not None and done < total:
                raise OSError(f"URL fetch failure on {origin}: the connection closed after {done} of {total} bytes."
                              + hint)
            if total is None:
                bar.update(done, finalize=True)
    except urllib.error.HTTPError as e:
        raise OSError(f"URL fetch failure on {origin}: {e.code} -- {e.msg}.{hint}") from e
    except urllib.error.URLError as e:
        raise OSError(f"URL fetch failure on {origin}: {getattr(e, 'errno', None)} -- {e.reason}.{hint}") from e
    except (http.client.HTTPException, TimeoutError, ConnectionError) as e:
        raise OSError(f"URL fetch failure on {origin}: {type(e).__name__} -- {e}.{hint}") from e


# ------------------------------------------------------------------------------------------- archives
def extract_archive(file_path: str | os.PathLike, path: str | os.PathLike = ".", archive_format: Any = "auto") -> bool:
    """Unpack a tar or zip archive into ``path``; ``False`` if it is none of ``archive_format``.

    The members are checked first (see the module docstring) and unpacked into a temporary folder
    beside ``path``, which then replaces ``path``.
    """
    import tarfile
    import zipfile

    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    file_path, path = os.fspath(file_path), os.fspath(path)
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise NotImplementedError(f"archive_format={kind!r} is not supported: use 'tar', 'zip', 'auto' or None.")
        if not (tarfile.is_tarfile(file_path) if kind == "tar" else zipfile.is_zipfile(file_path)):
            continue
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(path)}.", suffix=".extracting")
        try:
            (_extract_tar if kind == "tar" else _extract_zip)(file_path, staging)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
            os.replace(staging, path)
        finally:
            if os.path.exists(staging):
                shutil.rmtree(staging)
        return True
    return False


def _unsafe_reason(name: str) -> str | None:
    """Why a member name would land outside the extraction folder (``None`` if it would not)."""
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        return "it is an absolute path"
    if ".." in unified.split("/"):
        return "it has a '..' component"
    return None


def _refuse(archive: str, member: str, reason: str) -> ValueError:
    return ValueError(f"Refusing to extract {archive}: the member {member!r} would be written outside the "
                      f"extraction folder ({reason}). Nothing was extracted; the archive may be malicious.")


def _extract_tar(archive: str, dest: str) -> None:
    import tarfile

    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        root = os.path.realpath(dest)
        for m in members:
            reason = _unsafe_reason(m.name)
            if reason is None and (m.ischr() or m.isblk() or m.isfifo()):
                reason = "it is a device or FIFO entry"
            if reason is None and (m.issym() or m.islnk()):
                base = os.path.dirname(os.path.join(root, m.name)) if m.issym() else root
                linked = os.path.realpath(os.path.join(base, m.linkname))
                if os.path.isabs(m.linkname) or os.path.commonpath([linked, root]) != root:
                    reason = f"it links to {m.linkname!r}, outside the folder"
            if reason:
                raise _refuse(archive, m.name, reason)
        # Python's "data" filter (3.10.12+/3.11.4+) re-checks names and drops unsafe modes as a second line.
        tar.extractall(dest, members=members, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))


def _extract_zip(archive: str, dest: str) -> None:
    import zipfile

    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            reason = _unsafe_reason(info.filename)
            if reason:
                raise _refuse(archive, info.filename, reason)
        zf.extractall(dest)
