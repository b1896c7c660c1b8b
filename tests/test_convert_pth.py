"""The .pth reader: torch's zip and legacy formats read without PyTorch; code-running pickles refused."""
import collections
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

from mindface_au.convert.pth_reader import (PthError, UnsafePickleError, extract_state_dict, load_pth,
                                            read_state_dict)
from mindface_au.convert.pth_writer import write_pth


# ---------------------------------------------------------------- a pickle built opcode by opcode
def _global(module, name):
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _str(s):
    b = s.encode()
    return pickle.BINUNICODE + struct.pack("<I", len(b)) + b


def _int(i):
    return pickle.BININT + struct.pack("<i", i)


def _tuple(*parts):
    return pickle.MARK + b"".join(parts) + pickle.TUPLE


def _tensor(storage_type, key, numel, offset, size, stride):
    """``torch._utils._rebuild_tensor_v2(<storage>, offset, size, stride, False, OrderedDict())``."""
    pid = _tuple(_str("storage"), _global("torch", storage_type), _str(key), _str("cpu"), _int(numel))
    return (_global("torch._utils", "_rebuild_tensor_v2")
            + _tuple(pid + pickle.BINPERSID, _int(offset), _tuple(*map(_int, size)), _tuple(*map(_int, stride)),
                     pickle.NEWFALSE, _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE)
            + pickle.REDUCE)


def _state_dict_pickle(entries):
    """Protocol-2 pickle of OrderedDict([(name, tensor), ...]) as torch.save writes it."""
    body = b"".join(_str(name) + tensor for name, tensor in entries)
    return (pickle.PROTO + b"\x02" + _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE
            + pickle.MARK + body + pickle.SETITEMS + pickle.STOP)


def _zip(path, data_pkl, storages, prefix="mymodel"):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{prefix}/data.pkl", data_pkl)
        zf.writestr(f"{prefix}/byteorder", "little")
        for key, arr in storages.items():
            zf.writestr(f"{prefix}/data/{key}", np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes())
        zf.writestr(f"{prefix}/version", "3\n")
    return path


def test_hand_built_archive_with_strided_views_and_shared_storage(tmp_path):
    storage0 = np.arange(24, dtype=np.float32) * 0.5
    storage1 = np.array([1, -2, 3], dtype=np.int64)
    storage2 = np.array([0.25, -1.5, 2.0], dtype=np.float16)
    entries = [
        ("w", _tensor("FloatStorage", "0", 24, 0, (2, 3, 4), (12, 4, 1))),
        ("w_t", _tensor("FloatStorage", "0", 24, 2, (4, 3), (1, 4))),  # a transposed view at offset 2
        ("n", _tensor("LongStorage", "1", 3, 0, (3,), (1,))),
        ("h", _tensor("HalfStorage", "2", 3, 1, (2,), (1,))),
        ("scalar", _tensor("LongStorage", "1", 3, 2, (), ())),
    ]
    path = _zip(str(tmp_path / "hand.pth"), _state_dict_pickle(entries),
                {"0": storage0, "1": storage1, "2": storage2})
    sd = read_state_dict(path, backend="builtin")
    assert list(sd) == ["w", "w_t", "n", "h", "scalar"]
    np.testing.assert_array_equal(sd["w"], storage0.reshape(2, 3, 4))
    np.testing.assert_array_equal(sd["w_t"], storage0[2:14].reshape(3, 4).T)
    assert sd["n"].dtype == np.int64 and sd["n"].tolist() == [1, -2, 3]
    assert sd["h"].dtype == np.float16 and sd["h"].tolist() == [-1.5, 2.0]
    assert sd["scalar"].shape == () and int(sd["scalar"]) == 3


def test_bfloat16_storage_is_widened_exactly(tmp_path):
    values = np.array([1.0, -2.5, 3.140625, 0.0], dtype=np.float32)
    raw = (values.view(np.uint32) >> 16).astype(np.uint16)  # exact bf16 values
    path = _zip(str(tmp_path / "bf.pth"), _state_dict_pickle([("x", _tensor("BFloat16Storage", "0", 4, 0, (4,), (1,)))]),
                {"0": raw})
    out = read_state_dict(path, backend="builtin")["x"]
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, values)


def test_tensor_reaching_past_its_storage_is_an_error(tmp_path):
    path = _zip(str(tmp_path / "short.pth"),
                _state_dict_pickle([("x", _tensor("FloatStorage", "0", 4, 2, (2, 2), (2, 1)))]),
                {"0": np.zeros(4, np.float32)})
    with pytest.raises(PthError, match="past its storage"):
        read_state_dict(path, backend="builtin")


def test_missing_storage_record_is_named(tmp_path):
    path = _zip(str(tmp_path / "gone.pth"), _state_dict_pickle([("x", _tensor("FloatStorage", "7", 4, 0, (4,), (1,)))]),
                {"0": np.zeros(4, np.float32)})
    with pytest.raises(PthError, match="data/7"):
        read_state_dict(path, backend="builtin")


@pytest.mark.parametrize("legacy", [False, True])
def test_writer_round_trip_every_dtype(tmp_path, legacy):
    rng = np.random.default_rng(0)
    sd = collections.OrderedDict(
        conv=rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        fortran=np.asfortranarray(rng.standard_normal((5, 7))).astype(np.float32),
        half=rng.standard_normal(6).astype(np.float16),
        double=rng.standard_normal(2),
        counter=np.array(12, dtype=np.int64),
        ints=np.arange(5, dtype=np.int32),
        mask=np.array([True, False, True]),
        empty=np.zeros((0, 4), np.float32),
    )
    path = write_pth(sd, str(tmp_path / "rt.pth"), legacy=legacy)
    assert zipfile.is_zipfile(path) != legacy
    back = read_state_dict(path, backend="builtin")
    assert list(back) == list(sd)
    for k in sd:
        assert back[k].dtype == sd[k].dtype, k
        np.testing.assert_array_equal(back[k], sd[k])


@pytest.mark.slow
def test_torch_reads_the_writer_output(tmp_path):
    torch = pytest.importorskip("torch")  # optional: CI has no PyTorch
    sd = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array(3, dtype=np.int64)}
    for legacy in (False, True):
        out = torch.load(write_pth(sd, str(tmp_path / f"t{legacy}.pth"), legacy=legacy), weights_only=True)
        np.testing.assert_array_equal(out["a"].numpy(), sd["a"])


# ---------------------------------------------------------------- malicious pickles
class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _evil_zip(path, payload):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps(payload, protocol=2))
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
    return path


def test_zip_pickle_that_runs_a_command_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = _evil_zip(str(tmp_path / "evil.pth"), {"state_dict": {"w": _RunsCode(marker)}})
    with pytest.raises(UnsafePickleError, match=r"(posix|os|nt)\.system"):
        load_pth(path, backend="builtin")
    assert not marker.exists()


def test_legacy_pickle_that_runs_a_command_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil_legacy.pth"
    path.write_bytes(pickle.dumps(_RunsCode(marker), protocol=2))
    with pytest.raises(UnsafePickleError, match="system"):
        load_pth(str(path), backend="builtin")
    assert not marker.exists()


def test_other_callables_are_refused_by_name(tmp_path):
    payload = (pickle.PROTO + b"\x02" + _global("builtins", "eval") + _tuple(_str("1+1")) + pickle.REDUCE
               + pickle.STOP)
    path = _zip(str(tmp_path / "eval.pth"), payload, {})
    with pytest.raises(UnsafePickleError, match="builtins.eval"):
        load_pth(path, backend="builtin")


def test_not_a_torch_file(tmp_path):
    p = tmp_path / "junk.pth"
    p.write_bytes(b"hello, not a pickle")
    with pytest.raises(PthError, match="junk.pth"):
        load_pth(str(p), backend="builtin")
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        load_pth(str(tmp_path / "nowhere.pth"))


# ---------------------------------------------------------------- finding the state_dict
def test_extract_state_dict_from_mmcls_checkpoint_strips_module_prefix(tmp_path):
    w = np.ones((2, 2), np.float32)
    obj = {"meta": {"epoch": 3, "CLASSES": ("AU1",)},
           "state_dict": collections.OrderedDict([("module.backbone.fc.weight", w)])}
    sd = extract_state_dict(obj, "x.pth")
    assert list(sd) == ["backbone.fc.weight"]
    with pytest.raises(PthError, match="x.pth: no state_dict"):
        extract_state_dict({"meta": {"epoch": 1}}, "x.pth")
    with pytest.raises(PthError, match="'bad' is a str"):
        extract_state_dict({"state_dict": {"good": w, "bad": "text"}}, "x.pth")
