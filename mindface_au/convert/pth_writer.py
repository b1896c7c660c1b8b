"""Write a state_dict of numpy arrays as a PyTorch ``.pth`` file, without PyTorch.

The file is what ``torch.save(state_dict, path)`` writes (zip format: ``archive/data.pkl``,
``archive/data/<k>``, ``archive/byteorder``, ``archive/version``; or the legacy pre-1.6
stream with ``legacy=True``), so ``torch.load(path, weights_only=True)`` reads it back.
Used to hand MindSpore-trained weights back to PyTorch code and by the tests, which must
build real ``.pth`` files where PyTorch is not installed.

Each array becomes one contiguous storage; arrays are written little-endian.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from typing import Mapping

import numpy as np

from ..fileio import atomic_path
from .pth_reader import LEGACY_MAGIC, LEGACY_PROTOCOL

#: numpy dtype -> torch storage class name.
_STORAGE_NAMES = {
    np.dtype(np.float32): "FloatStorage",
    np.dtype(np.float64): "DoubleStorage",
    np.dtype(np.float16): "HalfStorage",
    np.dtype(np.int64): "LongStorage",
    np.dtype(np.int32): "IntStorage",
    np.dtype(np.int16): "ShortStorage",
    np.dtype(np.int8): "CharStorage",
    np.dtype(np.uint8): "ByteStorage",
    np.dtype(np.bool_): "BoolStorage",
}

_ALIGN = 64  # torch aligns storage records to 64 bytes in the archive


class Global:
    """A ``module.name`` reference written as a pickle GLOBAL without importing it."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle's save_reduce wants a callable
        raise TypeError(f"{self.module}.{self.name} is only a pickle reference")

    def __repr__(self):
        return f"Global({self.module}.{self.name})"


class _Storage:
    def __init__(self, key: str, array: np.ndarray):
        self.key = key
        self.array = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False)
        self.stype = _STORAGE_NAMES[np.dtype(array.dtype.type)]


class _Tensor:
    """Pickles as ``torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())``."""

    def __init__(self, storage: _Storage):
        self.storage = storage

    def __reduce__(self):
        shape = tuple(int(s) for s in self.storage.array.shape)
        stride = tuple(int(s) for s in (np.array(self.storage.array.strides, dtype=np.int64)
                                        // max(self.storage.array.itemsize, 1)))
        if self.storage.array.size == 0:
            stride = tuple(1 for _ in shape)
        return (Global("torch._utils", "_rebuild_tensor_v2"),
                (self.storage, 0, shape, stride, False, _EmptyOrderedDict()))


class _EmptyOrderedDict:
    def __reduce__(self):
        return (Global("collections", "OrderedDict"), ())


class _TorchPickler(pickle._Pickler):  # the pure-Python pickler: its dispatch table can be extended
    """Protocol-2 pickler that writes :class:`Global` as GLOBAL and storages as persistent ids."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_torch_global(self, obj: Global):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
        self.memoize(obj)

    dispatch[Global] = save_torch_global

    legacy = False  # the legacy format's storage ids carry a 6th field (view metadata, None)

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            pid = ("storage", Global("torch", obj.stype), obj.key, "cpu", int(obj.array.size))
            return pid + (None,) if self.legacy else pid
        return None

    def save_ordered_dict(self, obj):
        # OrderedDict(...) as torch writes it: GLOBAL collections.OrderedDict, (), REDUCE, SETITEMS
        self.save_reduce(Global("collections", "OrderedDict"), (), obj=obj)
        self._batch_setitems(iter(obj.items()))

    dispatch[collections.OrderedDict] = save_ordered_dict


def _as_tensors(state_dict: Mapping[str, np.ndarray]):
    storages, tree = [], collections.OrderedDict()
    for i, (key, value) in enumerate(state_dict.items()):
        arr = np.asarray(value)
        if np.dtype(arr.dtype.type) not in _STORAGE_NAMES:
            raise TypeError(f"{key}: dtype {arr.dtype} has no torch storage type")
        st = _Storage(str(i), arr)
        storages.append(st)
        tree[key] = _Tensor(st)
    return storages, tree


def _pickle(obj, persistent=True, legacy=False) -> bytes:
    buf = io.BytesIO()
    pickler = _TorchPickler(buf, protocol=2)
    pickler.legacy = legacy
    if not persistent:
        pickler.persistent_id = lambda obj: None
    pickler.dump(obj)
    return buf.getvalue()


def _padded_member(zf: zipfile.ZipFile, name: str, payload: bytes) -> None:
    """Add a stored member whose data starts at a multiple of 64 bytes (padding in the extra field)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    header = 30 + len(name.encode("utf-8"))
    offset = zf.fp.tell() + header
    pad = (-(offset + 4)) % _ALIGN
    info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # 'FB' padding record, as torch writes
    zf.writestr(info, payload)


def write_pth(state_dict: Mapping[str, np.ndarray], path: str, legacy: bool = False,
              archive_name: str = "archive") -> str:
    """Write ``state_dict`` ({name: array}) to ``path`` as ``torch.save`` would; returns ``path``."""
    storages, tree = _as_tensors(state_dict)
    with atomic_path(path) as tmp:  # fsync + replace: a reader sees the old file or the new one
        if legacy:
            with open(tmp, "wb") as f:
                f.write(_pickle(LEGACY_MAGIC, persistent=False))
                f.write(_pickle(LEGACY_PROTOCOL, persistent=False))
                f.write(_pickle({"protocol_version": LEGACY_PROTOCOL, "little_endian": True,
                                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, persistent=False))
                f.write(_pickle(tree, legacy=True))
                f.write(_pickle([s.key for s in storages], persistent=False))
                for s in storages:
                    f.write(struct.pack("<q", s.array.size))
                    f.write(s.array.tobytes())
        else:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
                _padded_member(zf, f"{archive_name}/data.pkl", _pickle(tree))
                _padded_member(zf, f"{archive_name}/byteorder", b"little")
                for s in storages:
                    _padded_member(zf, f"{archive_name}/data/{s.key}", s.array.tobytes())
                _padded_member(zf, f"{archive_name}/version", b"3\n")
    return path


__all__ = ["write_pth", "Global"]
