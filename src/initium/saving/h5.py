"""Weight files (HDF5) read as untrusted data: every object is vetted before a byte of it is read.

HDF5 can do much more than hold arrays, and several of its features turn a weights file into a
way to read other files or to exhaust the loader. A file Keras (or initium) writes uses none of
them: groups, hard links, and datasets of real numbers stored in the file itself. So
:class:`WeightsFile` refuses, with a ``ValueError`` naming the file and the object's path:

- **anything that points outside the file**: soft links (even to an object inside the file:
  Keras's writer never writes a link of any kind, so every link that is not a hard link is
  refused; that also rules out dangling links), external links, datasets with external raw
  storage (``create_dataset(..., external=...)``: a FIFO or ``/proc`` file there would be read or
  would hang the load) and virtual datasets;
- **structures that cost more than the file**: groups nested deeper than :data:`MAX_DEPTH` (or
  than the model's own weight groups, if deeper), an
  object reachable by two paths (a hard-link cycle or a shared subtree, which would make the walk
  exponential), filters other than those h5py writes (gzip, shuffle, fletcher32, lzf; an unknown
  id would also make HDF5 look for a plugin), and chunk layouts that make reading a dataset
  decompress more than ``2 x its size + CHUNK_MARGIN`` bytes (one giant chunk holding a small
  kernel, or chunks longer than the dataset), and datasets that declare more than
  ``MAX_RATIO`` times the bytes they store (never-written storage reads as zeros, and gzip packs
  a gigabyte of zeros into a megabyte: either would make a small file cost a large allocation);
- **values that are not weights**: strings, objects, compound, complex and long-double data,
  committed datatypes, and null dataspaces.

The file is walked once, in time linear in its number of links, when it is opened
(:meth:`WeightsFile.group` then answers from that index). Nothing is read until the loader asks
for a dataset whose declared shape it has already compared with the weight's, so what is
allocated and decompressed is bounded by the model's size, not by what the file declares.
Big-endian data is legitimate (HDF5 converts it to native order on read). Attributes are never
read. Any other failure of HDF5 (a corrupted or truncated file) becomes a ``ValueError`` naming the
file and the object; ``MemoryError`` and ``KeyboardInterrupt`` pass through unchanged.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

__all__ = ["WeightsFile", "Array", "MAX_DEPTH", "CHUNK_MARGIN", "MAX_RATIO", "FILTERS"]

MAX_DEPTH = 64  # group levels; a Keras file nests two per nested model (`layers/<name>`), plus `vars`
CHUNK_MARGIN = 1 << 20  # bytes a chunked dataset may decompress beyond twice its size (h5py's largest auto chunk)
# A dataset may declare at most this many times the bytes it stores (plus CHUNK_MARGIN): Keras and
# initium write weights uncompressed (1x); the zip layer uses the same ratio.
MAX_RATIO = 100
FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32", 32000: "lzf"}  # the filters h5py itself writes
_REAL_KINDS = "biuf"  # numpy kinds read as weights: bool, int, uint, float (at most 64 bits)
_OTHER_KINDS = {"c": "complex", "S": "byte-string", "U": "string", "O": "object (variable-length)",
                "V": "compound or opaque", "M": "datetime", "m": "timedelta"}


class _Refused(ValueError):
    """A finding that already names the file and the object (passes through :meth:`WeightsFile._guard`)."""


@dataclass(frozen=True)
class Array:
    """A vetted dataset: its path, declared shape and the native dtype it will be read as."""

    path: str
    shape: tuple[int, ...]
    dtype: np.dtype
    id: Any  # h5py's DatasetID, open until the file closes


class WeightsFile:
    """A read-only HDF5 weights file, indexed and vetted on opening.

    ``source`` is a path or a seekable binary file object; ``where`` names the file in messages;
    groups may nest ``max_depth`` levels (at least :data:`MAX_DEPTH`; the loader passes the depth of
    its model's deepest weight group when that is deeper, so any model that can be saved loads).
    Use as a context manager (or call :meth:`close`).
    """

    def __init__(self, source: Any, where: str, max_depth: int = MAX_DEPTH) -> None:
        import h5py

        self.where = where
        self.max_depth = max(MAX_DEPTH, max_depth)
        try:
            self._file = h5py.File(source, "r")
        except MemoryError:
            raise
        except Exception as e:  # noqa: BLE001 - h5py raises OSError, ValueError, RuntimeError... for bad bytes
            raise ValueError(f"Cannot read the weights in {where}: not a valid HDF5 file (truncated, corrupted or "
                             f"a different format). ({type(e).__name__}: {e})") from e
        try:
            self._groups: dict[str, dict[str, Array | None]] = self._index()
        except BaseException:
            self._file.close()
            raise

    # ------------------------------------------------------------------------------- queries
    def group(self, path: str) -> dict[str, Array | None] | None:
        """The entries of group ``path`` ('' is the root): name -> :class:`Array`, or None for a subgroup.

        None when ``path`` is not a group of the file.
        """
        return self._groups.get(path)

    def group_paths(self) -> Iterator[str]:
        """Every group's path, the root ('') included."""
        return iter(self._groups)

    def read(self, array: Array) -> np.ndarray:
        """The values of ``array``, in native byte order (only call it once its shape is known to fit)."""
        from h5py import h5s

        out = np.empty(array.shape, dtype=array.dtype)
        if out.size:
            with self._guard(array.path):
                array.id.read(h5s.ALL, h5s.ALL, out)
        return out

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "WeightsFile":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------------------- the walk
    def _index(self) -> dict[str, dict[str, Array | None]]:
        """Walk every link once (depth-first, iteratively), vetting each object as it is opened."""
        from h5py import h5o

        with self._guard("/"):
            root = self._file["/"].id
            seen = {h5o.get_info(root).addr}
        groups: dict[str, dict[str, Array | None]] = {"": {}}
        stack = [("", root, 0)]
        while stack:
            path, gid, depth = stack.pop()
            for name, raw in self._names(gid, path):
                child = f"{path}/{name}" if path else name
                kind, oid, addr = self._open_link(gid, raw, child)
                if addr in seen:
                    raise self._refuse(child, "is a second link to an object already linked elsewhere (a hard-link "
                                              "cycle or shared subtree); Keras files link each object once")
                seen.add(addr)
                if kind == h5o.TYPE_GROUP:
                    if depth + 1 > self.max_depth:
                        raise self._refuse(child, f"nests groups deeper than {self.max_depth} levels; Keras files "
                                                  "nest a few levels (two per nested model)")
                    groups[path][name] = None
                    groups[child] = {}
                    stack.append((child, oid, depth + 1))
                elif kind == h5o.TYPE_DATASET:
                    groups[path][name] = self._vet_dataset(oid, child)
                else:
                    raise self._refuse(child, "is a committed datatype (or another non-array object), which Keras "
                                              "files never hold")
        return groups

    def _names(self, gid: Any, path: str) -> list[tuple[str, bytes]]:
        """The link names of a group, decoded, refusing names HDF5 itself could not have written."""
        raw_names: list[bytes] = []
        with self._guard(path or "/"):
            gid.links.iterate(raw_names.append)
        out = []
        for raw in raw_names:
            where = f"{path}/{raw!r}" if path else repr(raw)
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise self._refuse(where, "has a link name that is not UTF-8 text") from None
            if not name or name == "." or "/" in name or "\x00" in name:
                raise self._refuse(where, "has a link name HDF5 does not allow ('', '.', or with '/')")
            out.append((name, raw))
        return out

    def _open_link(self, gid: Any, raw: bytes, path: str) -> tuple[int, Any, int]:
        """Open the object behind link ``raw`` of ``gid``, refusing every link that is not a hard link."""
        from h5py import h5l, h5o

        with self._guard(path):
            link_type = gid.links.get_info(raw).type
        if link_type != h5l.TYPE_HARD:
            kind = {h5l.TYPE_SOFT: "a soft link", h5l.TYPE_EXTERNAL: "an external link (to another file)"}.get(
                link_type, f"a user-defined link (type {link_type})")
            raise self._refuse(path, f"is {kind}; Keras files hold only groups and datasets, never links")
        with self._guard(path):
            oid = h5o.open(gid, raw)
            info = h5o.get_info(oid)
        return info.type, oid, info.addr

    # ------------------------------------------------------------------------------- datasets
    def _vet_dataset(self, oid: Any, path: str) -> Array:
        from h5py import h5s

        with self._guard(path):
            space = oid.get_space()
            null = space.get_simple_extent_type() == h5s.NULL
            shape = () if null else tuple(int(n) for n in space.shape)
            dtype = oid.dtype
            dcpl = oid.get_create_plist()
        if null:
            raise self._refuse(path, "has a null dataspace (no shape); a weight is an array")
        native = self._real_dtype(dtype, path)
        self._vet_storage(dcpl, shape, native.itemsize, path)
        with self._guard(path):
            stored = oid.get_storage_size()
        size = math.prod(shape) * native.itemsize
        if size > MAX_RATIO * stored + CHUNK_MARGIN:
            raise self._refuse(path, f"declares {size} bytes of values but stores {stored} bytes in the file "
                                     f"(more than {MAX_RATIO} x, + {CHUNK_MARGIN}): unwritten or over-compressed "
                                     "data that would cost memory the file does not hold")
        return Array(path, shape, native, oid)

    def _real_dtype(self, dtype: np.dtype, path: str) -> np.dtype:
        """The native-order dtype to read ``dtype`` as; strings, objects, compound, complex... refused."""
        if dtype.kind not in _REAL_KINDS or dtype.fields is not None or dtype.subdtype is not None \
                or dtype.itemsize > 8:
            what = "long double" if dtype.kind == "f" else _OTHER_KINDS.get(dtype.kind, "non-numeric")
            raise ValueError(f"{self.where}: the dataset `{path}` holds {what} values (dtype {dtype.str}); a weight "
                             "must be an array of bool, int, uint or float of at most 64 bits.")
        return dtype.newbyteorder("=")

    def _vet_storage(self, dcpl: Any, shape: tuple[int, ...], itemsize: int, path: str) -> None:
        """Refuse storage outside the file, unknown filters and chunkings that decompress past the size."""
        from h5py import h5d

        with self._guard(path):
            externals = [dcpl.get_external(i)[0] for i in range(dcpl.get_external_count())]
            layout = dcpl.get_layout()
            filters = [dcpl.get_filter(i)[0] for i in range(dcpl.get_nfilters())]
            chunk = tuple(dcpl.get_chunk()) if layout == h5d.CHUNKED else None
        if externals:
            raise self._refuse(path, f"keeps its values in other files ({externals[0]!r}: external raw storage)")
        if layout == h5d.VIRTUAL:
            raise self._refuse(path, "is a virtual dataset (its values come from other datasets or files)")
        if layout not in (h5d.COMPACT, h5d.CONTIGUOUS, h5d.CHUNKED):
            raise self._refuse(path, f"has an unknown storage layout ({layout})")
        unknown = [f for f in filters if f not in FILTERS]
        if unknown:
            raise self._refuse(path, f"uses the HDF5 filter id {unknown[0]}, not one h5py writes "
                                     f"({', '.join(FILTERS.values())})")
        if chunk is not None:
            self._vet_chunks(chunk, shape, itemsize, path)

    def _vet_chunks(self, chunk: tuple[int, ...], shape: tuple[int, ...], itemsize: int, path: str) -> None:
        if len(chunk) != len(shape) or any(c < 1 for c in chunk):
            raise self._refuse(path, f"has an invalid chunk shape {chunk} for its shape {shape}")
        size = math.prod(shape) * itemsize
        covered = math.prod(-(-n // c) * c for n, c in zip(shape, chunk)) * itemsize
        if covered > 2 * size + CHUNK_MARGIN:
            raise self._refuse(path, f"is {size} bytes, stored in chunks {chunk} that decompress {covered} bytes "
                                     f"(more than 2 x its size + {CHUNK_MARGIN}): a decompression bomb")

    # ------------------------------------------------------------------------------- errors
    def _refuse(self, path: str, why: str) -> _Refused:
        return _Refused(f"Refusing {self.where}: `{path}` {why}. The file was crafted or corrupted.")

    @contextlib.contextmanager
    def _guard(self, path: str) -> Iterator[None]:
        """Turn any error HDF5 raises on a damaged file into a ``ValueError`` naming the file and object."""
        try:
            yield
        except (MemoryError, _Refused):
            raise
        except Exception as e:  # noqa: BLE001 - h5py maps HDF5's errors to OSError, KeyError, RuntimeError...
            raise ValueError(f"Cannot read the weights in {self.where}: `{path}` is unreadable (the file is "
                             f"corrupted or truncated). ({type(e).__name__}: {e})") from e
