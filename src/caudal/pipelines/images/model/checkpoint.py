"""Read a PyTorch checkpoint of the legacy (pre-1.6, non-zip) format without torch.

torchvision's ``mobilenet_v2-b0353104.pth`` (2018) is such a file: three small pickles
(magic number, protocol version, system info), the pickled state dict whose tensors point at
storages by key, the sorted list of storage keys, then each storage as an int64 element count
and its raw little-endian bytes. The unpickler resolves only the names a state dict needs
(``OrderedDict``, torch's tensor-rebuild functions, storage types), so a file that asks for
anything else is refused, never executed. Runs once, in ``caudal images build-model``.
"""

from __future__ import annotations

import collections
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from caudal.errors import CaudalError

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL = 1001
DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
          "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8}  # fmt: skip
REBUILDERS = {"_rebuild_tensor", "_rebuild_tensor_v2"}


@dataclass
class _Storage:
    dtype: type
    data: bytes = b""


@dataclass(frozen=True)
class _TensorRef:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def array(self) -> np.ndarray:
        flat: np.ndarray = np.frombuffer(self.storage.data, self.storage.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True))
        if min(self.size, default=1) > 0 and last >= len(flat):
            raise CaudalError("a tensor reaches past the end of its storage")
        step = flat.itemsize
        strides = tuple(s * step for s in self.stride)
        view = np.lib.stride_tricks.as_strided(flat[self.offset :], self.size, strides)
        return np.array(view)


def _rebuild(storage: _Storage, offset: int, size: Any, stride: Any, *_: Any) -> _TensorRef:
    return _TensorRef(storage, int(offset), tuple(size), tuple(stride))


class _StateUnpickler(pickle.Unpickler):
    """Resolves only what a state dict of tensors needs; storages by their persistent key."""

    def __init__(self, fh: IO[bytes]) -> None:
        super().__init__(fh)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in REBUILDERS:
            return _rebuild
        if module == "torch" and name in DTYPES:
            return name
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a tensor state dict")

    def persistent_load(self, pid: Any) -> _Storage:
        kind, storage_type, key = pid[0], pid[1], str(pid[2])
        if kind != "storage" or storage_type not in DTYPES:
            raise pickle.UnpicklingError(f"unexpected persistent id {pid[:2]}")
        return self.storages.setdefault(key, _Storage(DTYPES[storage_type]))


def load_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of the checkpoint, by name, as numpy arrays; ``CaudalError`` otherwise."""
    with path.open("rb") as fh:
        try:
            magic, protocol, info = (_StateUnpickler(fh).load() for _ in range(3))
            if magic != MAGIC or protocol != PROTOCOL or not info.get("little_endian"):
                raise CaudalError(f"{path.name}: not a little-endian legacy torch checkpoint")
            unpickler = _StateUnpickler(fh)
            state = unpickler.load()
            for key in _StateUnpickler(fh).load():
                storage = unpickler.storages[str(key)]
                (count,) = struct.unpack("<q", fh.read(8))
                storage.data = fh.read(count * np.dtype(storage.dtype).itemsize)
                if len(storage.data) != count * np.dtype(storage.dtype).itemsize:
                    raise EOFError("the file ends inside a storage")
        except (pickle.UnpicklingError, EOFError, struct.error, KeyError) as exc:
            raise CaudalError(f"{path.name}: unreadable checkpoint ({exc})") from None
        if fh.read(1):
            raise CaudalError(f"{path.name}: bytes left after the last storage")
    return {name: ref.array() for name, ref in state.items()}
