"""The stamp classifier network. Imports torch, so only ``train`` imports this module.

Three conv blocks (63 -> 31 -> 15 -> 7 px) read the science/template/difference triplet,
global average+max pooling summarises it, and a small MLP joins the metadata features.
About 40k parameters: small enough to train on two CPU cores in minutes and to ship (< 200 kB).
"""

from __future__ import annotations

import torch
from torch import nn


def _block(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class StampClassifier(nn.Module):
    """(stamps [N,3,63,63], metadata [N,K]) -> logits [N, n_classes]."""

    def __init__(self, n_meta: int, n_classes: int, width: tuple[int, int, int] = (12, 24, 48)):
        super().__init__()
        c1, c2, c3 = width
        self.features = nn.Sequential(
            _block(3, c1, 5),
            nn.MaxPool2d(2),
            _block(c1, c2, 3),
            nn.MaxPool2d(2),
            _block(c2, c3, 3),
            nn.MaxPool2d(2),
            _block(c3, c3, 3),
        )
        self.meta = nn.Sequential(nn.Linear(n_meta, 32), nn.ReLU(inplace=True))
        self.head = nn.Sequential(
            nn.Linear(2 * c3 + 32, 64),
            nn.ReLU(inplace=True),
            nn.Dropout(0.2),
            nn.Linear(64, n_classes),
        )

    def forward(self, stamps: torch.Tensor, metadata: torch.Tensor) -> torch.Tensor:
        maps = self.features(stamps)
        pooled = torch.cat([maps.mean(dim=(2, 3)), maps.amax(dim=(2, 3))], dim=1)
        return self.head(torch.cat([pooled, self.meta(metadata)], dim=1))


class RotationAveraged(nn.Module):
    """Export wrapper: softmax averaged over the four 90-degree rotations (sky has no 'up')."""

    def __init__(self, model: StampClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, stamps: torch.Tensor, metadata: torch.Tensor) -> torch.Tensor:
        # rot90 spelled as transpose/flip: the TorchScript ONNX exporter has no aten::rot90
        rotations = (
            stamps,
            stamps.flip(3).transpose(2, 3),
            stamps.flip(2).flip(3),
            stamps.transpose(2, 3).flip(3),
        )
        probs = [torch.softmax(self.model(r, metadata), dim=1) for r in rotations]
        return torch.stack(probs).mean(dim=0)
