"""A reader for Torch7 (Lua) binary files (``.t7``), for the original WCT release, that runs no code.

Torch7's ``torch.save`` writes a tree of typed records: nil, numbers (double), strings, booleans,
tables, and "torch objects" (a class name followed by the object's own record: tensors and
storages carry raw numbers, ``nn`` modules carry a table of fields). Lua functions can also be
serialised (as bytecode); this reader refuses them, so a crafted file cannot make it run anything.
Only little-endian files with 4-byte ints and 8-byte longs (what Torch7 writes on x86-64 Linux)
are read.

`load_t7(path)` returns plain Python: numbers, strings, dicts (Lua tables; integral number keys
become ints), `torch.Tensor`s (CUDA tensors are read as CPU tensors of the same element type) and
`T7Object(class_name, fields)` for everything else.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

import numpy as np
import torch

from dtp_core.errors import WeightsFileError

NIL, NUMBER, STRING, TABLE, TORCH, BOOLEAN, FUNCTION, LEGACY_RECUR_FUNCTION, RECUR_FUNCTION = range(9)

# Storage class -> element type. cutorch writes CUDA storages with the same element layout.
_ELEMENT = {
    "Double": np.float64, "Float": np.float32, "Half": np.float16, "Long": np.int64, "Int": np.int32,
    "Short": np.int16, "Char": np.int8, "Byte": np.uint8,
    "CudaDouble": np.float64, "Cuda": np.float32, "CudaHalf": np.float16, "CudaLong": np.int64,
    "CudaInt": np.int32, "CudaShort": np.int16, "CudaChar": np.int8, "CudaByte": np.uint8,
}


def _kind(class_name: str, suffix: str) -> str | None:
    """'torch.CudaTensor' -> 'Cuda'; None when `class_name` is not a torch.<kind><suffix>."""
    if not (class_name.startswith("torch.") and class_name.endswith(suffix)):
        return None
    kind = class_name[len("torch."):-len(suffix)]
    return kind if kind in _ELEMENT else None


@dataclass
class T7Object:
    class_name: str
    fields: object = field(default=None)

    def get(self, name, default=None):
        return self.fields.get(name, default) if isinstance(self.fields, dict) else default


class _Reader:
    def __init__(self, data: bytes, path: str):
        self.data, self.pos, self.path = data, 0, path
        self.memo: dict[int, object] = {}

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise WeightsFileError(self.path, "ends in the middle of a record (truncated Torch7 file)", "download it again")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int(self) -> int:
        return struct.unpack("<i", self._take(4))[0]

    def long(self) -> int:
        return struct.unpack("<q", self._take(8))[0]

    def string(self) -> str:
        return self._take(self.int()).decode("latin-1")

    def object(self):
        kind = self.int()
        if kind == NIL:
            return None
        if kind == NUMBER:
            value = struct.unpack("<d", self._take(8))[0]
            return int(value) if value.is_integer() else value
        if kind == BOOLEAN:
            return self.int() == 1
        if kind == STRING:
            return self.string()
        if kind in (FUNCTION, RECUR_FUNCTION, LEGACY_RECUR_FUNCTION):
            raise WeightsFileError(self.path, "contains a serialised Lua function; refusing to read it",
                                   "use the authors' model files, which hold only modules and tensors")
        if kind not in (TABLE, TORCH):
            raise WeightsFileError(self.path, f"has an unknown Torch7 record type {kind} at byte {self.pos - 4}",
                                   "pass a Torch7 binary file written on a little-endian 64-bit machine")
        index = self.int()
        if index in self.memo:
            return self.memo[index]
        return self._table(index) if kind == TABLE else self._torch(index)

    def _table(self, index: int) -> dict:
        table: dict = {}
        self.memo[index] = table  # before the contents: a table may refer to itself
        for _ in range(self.int()):
            key = self.object()
            table[key] = self.object()
        return table

    def _torch(self, index: int):
        version = self.string()
        class_name = self.string() if version.startswith("V ") else version
        if (kind := _kind(class_name, "Storage")) is not None:
            count = self.long()
            dtype = np.dtype(_ELEMENT[kind]).newbyteorder("<")
            array = np.frombuffer(self._take(count * dtype.itemsize), dtype=dtype).copy()
            value = torch.from_numpy(array.astype(array.dtype.newbyteorder("=")))
        elif _kind(class_name, "Tensor") is not None:
            value = self._tensor()
        else:
            value = T7Object(class_name)
            self.memo[index] = value
            value.fields = self.object()
            return value
        self.memo[index] = value
        return value

    def _tensor(self) -> torch.Tensor:
        ndim = self.int()
        size = [self.long() for _ in range(ndim)]
        stride = [self.long() for _ in range(ndim)]
        offset = self.long() - 1  # Lua counts from 1
        storage = self.object()
        if ndim == 0 or storage is None:
            return torch.empty(0)
        return torch.as_strided(storage, size, stride, offset).clone()


def load_t7(path: str | os.PathLike):
    """Read a Torch7 binary file (see the module docstring for what comes back)."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return _Reader(data, str(path)).object()
    except (struct.error, UnicodeDecodeError, RuntimeError, ValueError) as err:
        raise WeightsFileError(path, f"is not a readable Torch7 binary file ({err})", "download it again") from None


def sequence(module: T7Object) -> list[T7Object]:
    """The children of an ``nn.Sequential`` (its ``modules`` table, in order)."""
    children = module.get("modules") if isinstance(module, T7Object) else None
    if not isinstance(children, dict):
        raise ValueError(f"{getattr(module, 'class_name', type(module).__name__)} has no `modules` list")
    return [children[i] for i in sorted(children)]


def convolutions(module: T7Object) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(weight (out, in, kh, kw), bias) of every spatial convolution of a Sequential, in order.

    nn, cudnn and the older ``SpatialConvolutionMM`` (which keeps its weight as a matrix) all count.
    """
    found = []
    for child in sequence(module):
        if not (isinstance(child, T7Object) and "SpatialConvolution" in child.class_name):
            continue
        shape = tuple(int(child.get(key)) for key in ("nOutputPlane", "nInputPlane", "kH", "kW"))
        weight = child.get("weight").reshape(shape).float()
        found.append((weight, child.get("bias").float()))
    return found
