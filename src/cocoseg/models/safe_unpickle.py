"""Read a torch zip checkpoint that pickles whole modules, without importing or running anything from it.

The reference implementation saves `nn.Module` objects. `torch.load(weights_only=True)` refuses them
and `torch.load(weights_only=False)` would import the reference package and run whatever the pickle
names. This reader instead resolves every global the pickle asks for against a fixed allow-list:
tensor rebuilders, plain containers, numpy scalars, paths, and module classes *by class name only*
(the reference's module paths moved between releases). Module classes become inert `PickledModule`
records holding their attribute dict; anything else is refused with `UnsafeCheckpointError`.
"""
from __future__ import annotations

import collections
import pickle
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from cocoseg.errors import CocosegError

# nn.Module classes a YOLOv8 detect/segment checkpoint contains (torch's and the reference's)
MODULE_CLASS_NAMES = frozenset({
    "SegmentationModel", "DetectionModel", "Sequential", "ModuleList", "Conv", "Conv2d", "ConvTranspose2d",
    "BatchNorm2d", "SiLU", "Identity", "C2f", "Bottleneck", "SPPF", "MaxPool2d", "Upsample", "Concat",
    "Detect", "Segment", "DFL", "Proto",
})
# plain-data record classes seen in checkpoint metadata (training arguments)
RECORD_CLASS_NAMES = frozenset({"IterableSimpleNamespace", "SimpleNamespace"})
PATH_CLASS_NAMES = frozenset({"PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath", "Path"})
STORAGE_DTYPES = {
    "HalfStorage": torch.float16, "FloatStorage": torch.float32, "DoubleStorage": torch.float64,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
}
_NUMPY_SCALAR_KINDS = frozenset("biuf")


class UnsafeCheckpointError(CocosegError):
    """The checkpoint's pickle asks for something outside the allow-list."""


class PickledModule:
    """An inert stand-in for a pickled nn.Module: its class name and attribute dict, nothing callable."""

    class_name = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> PickledModule:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: dict[str, Any] = {}

    def __setstate__(self, state: Any) -> None:
        # nn.Module pickles its __dict__; a (dict, slots) pair is also accepted, nothing else is kept
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict):
            state = state[0]
        self.state = dict(state) if isinstance(state, dict) else {}

    @property
    def children(self) -> dict[str, PickledModule]:
        """Named submodules (the module's `_modules`), in order."""
        mods = self.state.get("_modules") or {}
        return {k: v for k, v in mods.items() if isinstance(v, PickledModule)}

    def __repr__(self) -> str:
        return f"PickledModule({self.class_name})"


class PickledRecord(PickledModule):
    """An inert stand-in for a namespace-like record (e.g. training arguments)."""


_STUB_CACHE: dict[tuple[type, str], type] = {}


def _stub_class(base: type, name: str) -> type:
    key = (base, name)
    if key not in _STUB_CACHE:
        _STUB_CACHE[key] = type(name, (base,), {"class_name": name})
    return _STUB_CACHE[key]


class _StorageType:
    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype


class _SafeDType:
    """numpy.dtype stand-in accepting only numeric scalar types."""

    def __init__(self, name: Any, *args: Any) -> None:
        dtype = np.dtype(str(name)) if isinstance(name, str) and name.isalnum() else None
        if dtype is None or dtype.kind not in _NUMPY_SCALAR_KINDS:
            raise UnsafeCheckpointError(f"refusing numpy dtype {name!r} (only numeric scalars are read)")
        self.dtype = dtype

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(state[1])


def _numpy_scalar(dtype: Any, data: Any = None) -> int | float | bool:
    if not isinstance(dtype, _SafeDType) or not isinstance(data, bytes):
        raise UnsafeCheckpointError("refusing a numpy scalar without a numeric dtype and raw bytes")
    return np.frombuffer(data, dtype=dtype.dtype, count=1)[0].item()


def _rebuild_tensor(storage: Any, offset: int, size: Any, stride: Any, *_ignored: Any) -> torch.Tensor:
    if not isinstance(storage, torch.Tensor):
        raise UnsafeCheckpointError("tensor rebuild without a storage from the archive")
    return torch.as_strided(storage, tuple(size), tuple(stride), int(offset))


def _rebuild_parameter(data: Any, *_ignored: Any) -> torch.Tensor:
    if not isinstance(data, torch.Tensor):
        raise UnsafeCheckpointError("parameter rebuild without a tensor")
    return data


def _path_from_parts(*parts: Any) -> str:
    return "/".join(str(p) for p in parts)


_FUNCTIONS: dict[tuple[str, str], Callable[..., Any]] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set, ("__builtin__", "set"): set,
    ("builtins", "frozenset"): frozenset, ("__builtin__", "frozenset"): frozenset,
    # inert value types: trained checkpoints carry the head's cached input shape (a torch.Size)
    ("torch", "Size"): torch.Size,
    ("torch", "device"): torch.device,
    ("numpy", "dtype"): _SafeDType,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, archive: zipfile.ZipFile, prefix: str, source: str) -> None:
        super().__init__(file)
        self.archive, self.prefix, self.source = archive, prefix, source
        self.storages: dict[str, torch.Tensor] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _FUNCTIONS:
            return _FUNCTIONS[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(STORAGE_DTYPES[name])
        if name in MODULE_CLASS_NAMES:  # by name only: the module path moved between releases
            return _stub_class(PickledModule, name)
        if name in RECORD_CLASS_NAMES:
            return _stub_class(PickledRecord, name)
        if module in ("pathlib", "pathlib._local") and name in PATH_CLASS_NAMES:
            return _path_from_parts
        raise UnsafeCheckpointError(
            f"{self.source}: refusing to load '{module}.{name}' named by the checkpoint's pickle: only tensors, "
            "plain containers and YOLOv8 module classes are read, and no code from a checkpoint is run"
        )

    def persistent_load(self, pid: Any) -> torch.Tensor:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise UnsafeCheckpointError(f"{self.source}: unexpected persistent id {pid!r:.80}")
        dtype, key = pid[1].dtype, str(pid[2])
        if key not in self.storages:
            raw = self.archive.read(f"{self.prefix}data/{key}")
            self.storages[key] = torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        return self.storages[key]


def safe_load(path: str | Path) -> Any:
    """Unpickle a torch zip checkpoint with the allow-list above; modules come back as PickledModule."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise CocosegError(f"{path}: not a torch zip checkpoint (the pre-1.6 legacy format is not supported)")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if not pkl:
            raise CocosegError(f"{path}: no data.pkl record; not a torch checkpoint")
        prefix = pkl[0][: -len("data.pkl")]
        if f"{prefix}byteorder" in names and archive.read(f"{prefix}byteorder").strip() != b"little":
            raise CocosegError(f"{path}: big-endian checkpoints are not supported")
        with archive.open(pkl[0]) as f:
            return _RestrictedUnpickler(f, archive, prefix, str(path)).load()
