"""MobileNetV2 written as an ONNX graph, filled from torchvision's state dict (no torch).

torchvision's ``mobilenet_v2`` (Sandler et al. 2018, width 1.0): a 3x3 stride-2 stem, 17
inverted residual blocks (expand 1x1, depthwise 3x3, project 1x1; a shortcut where stride is
1 and the width stays), a 1x1 conv to 1280, global average pool, a linear layer to 1000
classes, here followed by a softmax. Every convolution is followed by batch norm in eval mode,
folded into the convolution's weight and bias (``y = (x - mean) / sqrt(var + eps) * g + b``),
then ReLU6 (``Clip(0, 6)``) except after the projection. The state-dict keys are
torchvision's; ``build_graph`` fails unless it uses every tensor of the checkpoint exactly as
named. Runs once, in ``caudal images build-model``.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from caudal.errors import CaudalError

# (expansion t, output channels c, repeats n, first stride s), the paper's Table 2
SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
            (6, 160, 3, 2), (6, 320, 1, 1)]  # fmt: skip
BN_EPS = 1e-5  # torch.nn.BatchNorm2d's default, which torchvision's MobileNetV2 keeps
IR_VERSION = 10  # opset 18 needs IR >= 8; onnxruntime reads up to 13


class _Graph:
    """Nodes and initializers as they are added; which state-dict keys were consumed."""

    def __init__(self, state: dict[str, np.ndarray]) -> None:
        self.state, self.used = state, set[str]()
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def take(self, key: str) -> np.ndarray:
        if key not in self.state:
            raise CaudalError(f"the checkpoint has no tensor {key} (not torchvision's MobileNetV2)")
        self.used.add(key)
        return self.state[key].astype(np.float32)

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def conv_bn(
        self, x: str, conv: str, bn: str, stride: int = 1, groups: int = 1, relu6: bool = True
    ) -> str:
        """Conv + folded batch norm (+ ReLU6); returns the output's name."""
        weight = self.take(f"{conv}.weight")
        gamma, beta = self.take(f"{bn}.weight"), self.take(f"{bn}.bias")
        mean, var = self.take(f"{bn}.running_mean"), self.take(f"{bn}.running_var")
        self.used.add(f"{bn}.num_batches_tracked")  # a training counter, no part of inference
        scale = gamma / np.sqrt(var + BN_EPS)
        w = self.constant(f"{conv}.w", weight * scale[:, None, None, None])
        b = self.constant(f"{conv}.b", beta - mean * scale)
        k = weight.shape[-1]
        out = f"{conv}.y"
        self.nodes.append(helper.make_node(
            "Conv", [x, w, b], [out], kernel_shape=[k, k], strides=[stride, stride],
            pads=[(k - 1) // 2] * 4, group=groups,
        ))  # fmt: skip
        if not relu6:
            return out
        self.nodes.append(helper.make_node("Clip", [out, "zero", "six"], [f"{out}.relu6"]))
        return f"{out}.relu6"

    def block(self, x: str, index: int, c_in: int, c_out: int, stride: int, expand: int) -> str:
        """torchvision's ``InvertedResidual`` number ``index`` of ``features``."""
        prefix, layer, h = f"features.{index}.conv", 0, x
        if expand != 1:
            h = self.conv_bn(h, f"{prefix}.0.0", f"{prefix}.0.1")
            layer = 1
        h = self.conv_bn(h, f"{prefix}.{layer}.0", f"{prefix}.{layer}.1", stride, c_in * expand)
        h = self.conv_bn(h, f"{prefix}.{layer + 1}", f"{prefix}.{layer + 2}", relu6=False)
        if stride == 1 and c_in == c_out:
            self.nodes.append(helper.make_node("Add", [x, h], [f"features.{index}.sum"]))
            return f"features.{index}.sum"
        return h


def build_graph(state: dict[str, np.ndarray], input_name: str, opset: int) -> onnx.ModelProto:
    """image float32 [N, 3, 224, 224] → probabilities [N, 1000]; checked by onnx's checker."""
    g = _Graph(state)
    g.constant("zero", np.array(0.0))
    g.constant("six", np.array(6.0))
    x = g.conv_bn(input_name, "features.0.0", "features.0.1", stride=2)
    c_in, index = 32, 1
    for expand, c_out, repeats, stride in SETTINGS:
        for i in range(repeats):
            x = g.block(x, index, c_in, c_out, stride if i == 0 else 1, expand)
            c_in, index = c_out, index + 1
    x = g.conv_bn(x, f"features.{index}.0", f"features.{index}.1")
    weight = g.constant("classifier.w", g.take("classifier.1.weight"))
    bias = g.constant("classifier.b", g.take("classifier.1.bias"))
    g.nodes += [
        helper.make_node("GlobalAveragePool", [x], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["features"], axis=1),
        helper.make_node("Gemm", ["features", weight, bias], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    unused = sorted(set(state) - g.used)
    if unused:
        raise CaudalError(f"the checkpoint has tensors MobileNetV2 does not use: {unused[:5]}")
    graph = helper.make_graph(
        g.nodes, "mobilenet_v2",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["n", 3, 224, 224])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["n", 1000])],
        g.initializers,
    )  # fmt: skip
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=IR_VERSION,
        producer_name="caudal images build-model",
    )  # fmt: skip
    onnx.checker.check_model(model, full_check=True)
    return model
