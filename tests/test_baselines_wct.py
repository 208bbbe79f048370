"""WCT: the authors' layout (both releases), the WCT maths, the Torch7 reader, the whole method on
fake checkpoints, and the unavailable path."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from baselines import torch7, wct
from checkpoint_fakes import committed, fake_state, layout, save
from dtp_core.errors import MethodUnavailable, WeightsFileError


def _parts(nets):
    return [("vgg19_normalized.pth.tar:", nets.encoder)] + \
           [(f"vgg19_normalized_decoder{k}.pth.tar:", nets.decoders[str(k)]) for k in (1, 2, 3, 4, 5)]


def test_layout_matches_pytorchwct_names_and_shapes():
    # tests/data/wct_keys.txt: vgg19_normalized.py (buffers preprocess_*, seq.convB_I) and
    # vgg19_decoders.py (seq.convB_I mirrored), as convertModels.py saves them.
    assert layout(_parts(wct.WCTNetworks())) == committed("wct")


def test_whiten_colour_gives_the_style_mean_and_covariance():
    gen = torch.Generator().manual_seed(0)
    content = torch.randn(6, 400, generator=gen)
    style = torch.randn(6, 6, generator=gen) @ torch.randn(6, 300, generator=gen) + 3
    out = wct.whiten_colour(content, style)
    assert torch.allclose(out.mean(1), style.mean(1), atol=1e-4)
    assert torch.allclose(torch.cov(out), torch.cov(style), atol=1e-3)


def test_alpha_zero_keeps_the_content_feature():
    content, style = torch.rand(1, 4, 5, 5), torch.rand(1, 4, 6, 6)
    assert torch.equal(wct.feature_wct(content, style, 0.0), content)


@pytest.fixture
def pth_weights(tmp_path):
    nets = wct.WCTNetworks()
    for prefix, module in _parts(nets):
        save(tmp_path / "wct" / prefix.rstrip(":"), fake_state(module))
    return tmp_path


def test_stylize_end_to_end_on_fake_pth_checkpoints(pth_weights):
    content, style = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 32)
    result = wct.stylize(content, style, config=wct.WCTConfig(weights_dir=str(pth_weights)), device="cpu")
    assert result.image.shape == content.shape and 0 <= result.image.min() and result.image.max() <= 1
    assert result.facts["weights_format"] == "pth"
    assert set(result.facts["checkpoints"]) == set(wct.PTH_FILES)
    assert all(len(c["sha256"]) == 64 for c in result.facts["checkpoints"].values())


def test_unavailable_names_the_file_and_its_source(tmp_path):
    with pytest.raises(MethodUnavailable, match=r"unavailable: needs vgg19_normalized.pth.tar from http.*models_pytorch.zip"):
        wct.stylize(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), config=wct.WCTConfig(weights_dir=str(tmp_path)))


def test_too_small_for_relu5_1_is_refused():
    with pytest.raises(ValueError, match="32 px"):
        wct.stylize(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16))


# -- Torch7 files: a minimal writer of the format, to check the reader against --------------------

class _T7Writer:
    def __init__(self):
        self.out, self.next_index = bytearray(), 1

    def int(self, v):
        self.out += struct.pack("<i", v)

    def long(self, v):
        self.out += struct.pack("<q", v)

    def string(self, s):
        self.int(len(s))
        self.out += s.encode("latin-1")

    def object(self, value):
        if value is None:
            self.int(torch7.NIL)
        elif isinstance(value, bool):
            self.int(torch7.BOOLEAN)
            self.int(int(value))
        elif isinstance(value, (int, float)):
            self.int(torch7.NUMBER)
            self.out += struct.pack("<d", float(value))
        elif isinstance(value, str):
            self.int(torch7.STRING)
            self.string(value)
        elif isinstance(value, dict):
            self.int(torch7.TABLE)
            self._index()
            self.int(len(value))
            for k, v in value.items():
                self.object(k)
                self.object(v)
        elif isinstance(value, tuple) and value[0] == "tensor":  # ("tensor", class, np array)
            self._torch(value[1])
            array = np.ascontiguousarray(value[2])
            self.int(array.ndim)
            for n in array.shape:
                self.long(n)
            for s in array.strides:
                self.long(s // array.itemsize)
            self.long(1)
            self._torch(value[1].replace("Tensor", "Storage"))
            self.long(array.size)
            self.out += array.astype(array.dtype.newbyteorder("<")).tobytes()
        else:  # ("module", class, fields)
            self._torch(value[1])
            self.object(value[2])

    def _index(self):
        self.int(self.next_index)
        self.next_index += 1

    def _torch(self, class_name):
        self.int(torch7.TORCH)
        self._index()
        self.string("V 1")
        self.string(class_name)


def _conv(cin, cout, k, rng, cls="nn.SpatialConvolution"):
    weight = rng.standard_normal((cout, cin, k, k)).astype(np.float32)
    bias = rng.standard_normal(cout).astype(np.float32)
    tensor = "torch.CudaTensor" if cls.startswith("cudnn") else "torch.FloatTensor"
    return ("module", cls, {"nOutputPlane": cout, "nInputPlane": cin, "kW": k, "kH": k, "dW": 1, "dH": 1,
                            "weight": ("tensor", tensor, weight), "bias": ("tensor", tensor, bias), "train": False})


def _sequential(children):
    return ("module", "nn.Sequential", {"modules": {i + 1: c for i, c in enumerate(children)}, "train": False})


def test_torch7_reader_reads_numbers_strings_tables_and_tensors(tmp_path):
    writer = _T7Writer()
    array = np.arange(12, dtype=np.float64).reshape(3, 4)
    writer.object({"n": 2.5, "i": 3, "s": "abc", "b": True, "t": ("tensor", "torch.DoubleTensor", array), 1: None})
    path = tmp_path / "x.t7"
    path.write_bytes(bytes(writer.out))
    value = torch7.load_t7(path)
    assert value["n"] == 2.5 and value["i"] == 3 and value["s"] == "abc" and value["b"] is True
    assert torch.equal(value["t"], torch.from_numpy(array))


def test_torch7_reader_refuses_functions_and_truncation(tmp_path):
    path = tmp_path / "f.t7"
    path.write_bytes(struct.pack("<ii", torch7.FUNCTION, 1) + b"\x00" * 8)
    with pytest.raises(WeightsFileError, match="Lua function"):
        torch7.load_t7(path)
    path.write_bytes(struct.pack("<i", torch7.STRING) + struct.pack("<i", 100) + b"abc")
    with pytest.raises(WeightsFileError, match="truncated"):
        torch7.load_t7(path)


def test_t7_decoder_loads_in_module_order(tmp_path):
    # feature_invertor_conv2_1.t7 (modelsNIPS.decoder2): pad, conv 128->64, relu, upsample, pad,
    # conv 64->64, relu, pad, conv 64->3; cudnn modules and CUDA tensors as the release has them.
    rng = np.random.default_rng(0)
    convs = [_conv(128, 64, 3, rng, "cudnn.SpatialConvolution"), _conv(64, 64, 3, rng), _conv(64, 3, 3, rng)]
    children = [("module", "nn.SpatialReflectionPadding", {"pad_l": 1}), convs[0], ("module", "nn.ReLU", {}),
                ("module", "nn.SpatialUpSamplingNearest", {"scale_factor": 2}), convs[1], convs[2]]
    writer = _T7Writer()
    writer.object(_sequential(children))
    path = tmp_path / "feature_invertor_conv2_1.t7"
    path.write_bytes(bytes(writer.out))
    decoder = wct.Decoder(2)
    names = [n for n, layer in decoder.seq.named_children() if isinstance(layer, torch.nn.Conv2d)]
    wct._load_t7_convs(decoder, path, names)
    assert names == ["conv2_1", "conv1_2", "conv1_1"]
    assert torch.equal(decoder.seq.conv1_1.weight, torch.from_numpy(convs[2][2]["weight"][2]))
    assert decoder(torch.rand(1, 128, 4, 4)).shape == (1, 3, 8, 8)
