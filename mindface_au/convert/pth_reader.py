"""Read PyTorch ``.pth`` files into numpy arrays without running pickled code.

A ``.pth`` written by ``torch.save`` is a pickle whose tensors refer to raw storages kept
beside it: in a zip archive (``<name>/data.pkl`` + ``<name>/data/<key>``, torch >= 1.6) or,
in the legacy format, appended to the same stream after the pickle. A pickle can name any
importable callable, so unpickling a file from the internet with plain ``pickle`` (or
``torch.load(weights_only=False)``) may run arbitrary code.

:func:`read_pth` uses ``torch.load(weights_only=True)`` when PyTorch is installed (backend
``torch``), else a restricted unpickler (backend ``builtin``) that resolves only these names
and refuses every other one with :class:`UnsafePickleError`:

* ``collections.OrderedDict``
* ``torch._utils._rebuild_tensor_v2`` / ``_rebuild_parameter`` / ``_rebuild_parameter_with_state``
  (rebuilt here as numpy arrays; nothing of torch is imported)
* ``torch.<Type>Storage`` (Float, Double, Half, BFloat16, Long, Int, Short, Char, Byte, Bool)
  as persistent ids of the storages.

Arrays come back as numpy arrays in the file's dtype, except bfloat16 which numpy lacks and
is widened to float32 exactly.
"""
from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
from typing import Any, Dict

import numpy as np

#: torch storage class name -> numpy dtype ("bfloat16" handled separately).
STORAGE_DTYPES: Dict[str, Any] = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16",
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001


class PthError(ValueError):
    """A ``.pth`` file that cannot be read (names the file)."""


class UnsafePickleError(PthError, pickle.UnpicklingError):
    """The pickle names a callable outside the allow-list: it might run code, so it is refused."""


class _StorageType:
    """Stands for ``torch.<Name>Storage`` inside the pickle."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]

    @property
    def itemsize(self) -> int:
        return 2 if self.dtype == "bfloat16" else np.dtype(self.dtype).itemsize

    def from_bytes(self, raw: bytes, byteorder: str = "little") -> np.ndarray:
        """Raw storage bytes -> 1-D array."""
        if self.dtype == "bfloat16":
            u16 = np.frombuffer(raw, dtype=np.dtype("<u2" if byteorder == "little" else ">u2"))
            return (u16.astype(np.uint32) << 16).view(np.float32)
        dt = np.dtype(self.dtype).newbyteorder("<" if byteorder == "little" else ">")
        return np.frombuffer(raw, dtype=dt).astype(np.dtype(self.dtype), copy=False)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    """numpy twin of ``torch._utils._rebuild_tensor_v2``: a strided view of the storage, copied."""
    if not isinstance(storage, np.ndarray):
        raise PthError(f"tensor storage is a {type(storage).__name__}, expected a persistent storage")
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    if len(size) != len(stride) or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise PthError(f"bad tensor geometry size={size} stride={stride}")
    if 0 in size:
        return np.zeros(size, dtype=storage.dtype)
    last = int(storage_offset) + sum((n - 1) * s for n, s in zip(size, stride))
    if storage_offset < 0 or last >= storage.size:
        raise PthError(f"tensor (offset {storage_offset}, size {size}, stride {stride}) reaches past its "
                       f"storage of {storage.size} elements")
    base = storage[int(storage_offset):]
    view = np.lib.stride_tricks.as_strided(base, shape=size, strides=[s * storage.itemsize for s in stride],
                                           writeable=False)
    return np.array(view, copy=True)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    return data


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the allow-listed globals; storages come from ``load_storage``.

    ``load_storage(storage_type, key, numel, view_metadata)`` returns the storage (a 1-D array,
    or a placeholder that ``rebuild_tensor`` understands).
    """

    def __init__(self, file, load_storage=None, source: str = "<pickle>", rebuild_tensor=_rebuild_tensor_v2):
        super().__init__(file)
        self._load_storage = load_storage
        self._source = source
        self._rebuild_tensor = rebuild_tensor

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return self._rebuild_tensor
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise UnsafePickleError(
            f"{self._source}: refused to load global '{module}.{name}': only tensors, dicts, lists and "
            "plain values are read (a pickle naming other callables could run code). If this file "
            "is trusted, re-save just its state_dict with torch.save(model.state_dict(), path).")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise UnsafePickleError(f"{self._source}: unsupported persistent id {pid!r:.80}")
        if self._load_storage is None:
            raise PthError(f"{self._source}: a tensor storage outside a torch archive")
        if len(pid) not in (5, 6) or not isinstance(pid[1], _StorageType):
            raise PthError(f"{self._source}: malformed storage reference {pid!r:.120}")
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) == 6 else None
        return self._load_storage(storage_type, str(key), int(numel), view)


def _load_zip(path: str, zf: zipfile.ZipFile) -> Any:
    names = zf.namelist()
    pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
    if len(pkl) != 1:
        raise PthError(f"{path}: a zip file but not a torch archive (no single '<name>/data.pkl')")
    prefix = pkl[0][: -len("data.pkl")]
    byteorder = "little"
    if prefix + "byteorder" in names:
        byteorder = zf.read(prefix + "byteorder").decode("ascii").strip()
        if byteorder not in ("little", "big"):
            raise PthError(f"{path}: unknown byteorder {byteorder!r}")
    cache: Dict[str, np.ndarray] = {}

    def load_storage(stype: _StorageType, key: str, numel: int, view) -> np.ndarray:
        if key not in cache:
            member = f"{prefix}data/{key}"
            if member not in names:
                raise PthError(f"{path}: storage {member} is missing from the archive")
            arr = stype.from_bytes(zf.read(member), byteorder)
            if arr.size < numel:
                raise PthError(f"{path}: storage {member} holds {arr.size} elements, the pickle says {numel}")
            cache[key] = arr
        return cache[key]

    with zf.open(pkl[0]) as f:
        return RestrictedUnpickler(io.BytesIO(f.read()), load_storage, source=f"{path}:{pkl[0]}").load()


class _LegacyStorage:
    """A legacy-format storage, whose bytes follow the pickle: known by key (and view) only."""

    def __init__(self, stype: _StorageType, key: str, view):
        self.stype, self.key, self.view = stype, key, view


class _LegacyTensor:
    """A legacy-format tensor waiting for its storage: ``_rebuild_tensor_v2`` arguments kept."""

    def __init__(self, storage: _LegacyStorage, args: tuple):
        self.storage, self.args = storage, args


def _rebuild_legacy(storage, *args):
    if not isinstance(storage, _LegacyStorage):
        raise PthError(f"tensor storage is a {type(storage).__name__}, expected a persistent storage")
    return _LegacyTensor(storage, args)


def _resolve_legacy(obj, data: Dict[str, np.ndarray]):
    """Replace every :class:`_LegacyTensor` in ``obj`` by its numpy array."""
    if isinstance(obj, _LegacyTensor):
        storage = data[obj.storage.key]
        if obj.storage.view is not None:
            _view_key, offset, size = obj.storage.view
            storage = storage[int(offset): int(offset) + int(size)]
        return _rebuild_tensor_v2(storage, *obj.args)
    if isinstance(obj, dict):
        out = collections.OrderedDict() if isinstance(obj, collections.OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _resolve_legacy(v, data)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_resolve_legacy(v, data) for v in obj)
    return obj


def _load_legacy(path: str, f) -> Any:
    """The pre-1.6 format: magic, protocol, sys_info, the object, storage keys, then raw storages."""
    def plain():
        return RestrictedUnpickler(f, None, source=path).load()

    try:
        magic = plain()
    except UnsafePickleError:
        raise
    except Exception as exc:  # noqa: BLE001 -- any other failure here means "not this format"
        raise PthError(f"{path}: neither a torch zip archive nor a legacy torch pickle ({exc})") from None
    if magic != LEGACY_MAGIC:
        raise PthError(f"{path}: not a torch file (a zip archive, or a legacy pickle starting with torch's "
                       "magic number, expected)")
    protocol = plain()
    if protocol != LEGACY_PROTOCOL:
        raise PthError(f"{path}: legacy torch protocol {protocol!r}, expected {LEGACY_PROTOCOL}")
    sys_info = plain()
    little = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)
    byteorder = "little" if little else "big"
    types: Dict[str, _StorageType] = {}

    def load_storage(stype: _StorageType, key: str, numel: int, view) -> _LegacyStorage:
        types.setdefault(key, stype)
        return _LegacyStorage(stype, key, view)

    obj = RestrictedUnpickler(f, load_storage, source=path, rebuild_tensor=_rebuild_legacy).load()
    keys = plain()
    if not isinstance(keys, list):
        raise PthError(f"{path}: legacy storage key list missing")
    data: Dict[str, np.ndarray] = {}
    for key in keys:
        if key not in types:
            raise PthError(f"{path}: storage {key} is listed but no tensor uses it")
        stype = types[key]
        head = f.read(8)
        if len(head) != 8:
            raise PthError(f"{path}: file ends before storage {key}")
        (numel,) = struct.unpack("<q" if little else ">q", head)
        raw = f.read(numel * stype.itemsize)
        if len(raw) != numel * stype.itemsize:
            raise PthError(f"{path}: file ends inside storage {key}")
        data[key] = stype.from_bytes(raw, byteorder)
    missing = sorted(set(types) - set(data))
    if missing:
        raise PthError(f"{path}: storages {missing[:5]} are used but not stored")
    return _resolve_legacy(obj, data)


def _load_builtin(path: str) -> Any:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            return _load_zip(path, zf)
    with open(path, "rb") as f:
        return _load_legacy(path, f)


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _to_numpy(obj):
    """Replace torch tensors in a loaded object by numpy arrays (bfloat16 -> float32)."""
    import torch

    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.numpy().copy()
    if isinstance(obj, dict):
        out = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _to_numpy(v)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_numpy(v) for v in obj)
    return obj


def load_pth(path: str, backend: str = "auto") -> Any:
    """The object saved in ``path`` with every tensor as a numpy array.

    backend: ``torch`` (``torch.load(weights_only=True)``), ``builtin`` (the restricted
    unpickler here) or ``auto`` (torch when installed).
    """
    if backend not in ("auto", "torch", "builtin"):
        raise ValueError(f"backend must be auto, torch or builtin, got {backend!r}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file not found: {path}")
    if backend == "torch" or (backend == "auto" and torch_available()):
        import torch

        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except TypeError:  # a PyTorch too old to know weights_only: never unpickle freely
            return _load_builtin(path)
        except pickle.UnpicklingError as exc:
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            why = next((ln for ln in lines if "unsupported" in ln.lower()), lines[0] if lines else "")
            raise UnsafePickleError(f"{path}: torch.load(weights_only=True) refused it: {why}") from None
        return _to_numpy(obj)
    return _load_builtin(path)


def extract_state_dict(obj: Any, source: str = "<object>") -> "collections.OrderedDict[str, np.ndarray]":
    """The state_dict inside a loaded checkpoint.

    Accepts a plain state_dict (insightface ``backbone.pth``) or a dict holding one under
    ``state_dict`` (mmcls / mmcv checkpoints) or ``model``; a leading ``module.`` (from
    ``DistributedDataParallel``) is stripped from every key.
    """
    sd = obj
    if isinstance(sd, dict) and not any(isinstance(v, np.ndarray) for v in sd.values()):
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(sd.get(key), dict):
                sd = sd[key]
                break
    if not isinstance(sd, dict) or not any(isinstance(v, np.ndarray) for v in sd.values()):
        what = f"a dict with keys {list(obj)[:8]}" if isinstance(obj, dict) else type(obj).__name__
        raise PthError(f"{source}: no state_dict found ({what}); expected name -> tensor")
    out = collections.OrderedDict()
    for key, value in sd.items():
        if not isinstance(key, str):
            raise PthError(f"{source}: state_dict key {key!r} is not a string")
        if not isinstance(value, np.ndarray):
            raise PthError(f"{source}: state_dict entry {key!r} is a {type(value).__name__}, not a tensor")
        name = key[len("module."):] if key.startswith("module.") else key
        out[name] = value
    return out


def read_state_dict(path: str, backend: str = "auto") -> "collections.OrderedDict[str, np.ndarray]":
    """``path`` (.pth) -> ordered {torch key: numpy array}. See :func:`load_pth`, :func:`extract_state_dict`."""
    return extract_state_dict(load_pth(path, backend), source=path)


__all__ = ["read_state_dict", "load_pth", "extract_state_dict", "RestrictedUnpickler", "PthError",
           "UnsafePickleError", "STORAGE_DTYPES", "torch_available"]
