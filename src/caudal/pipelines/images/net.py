"""The shipped image classifier's network. Imports torch, so only ``train`` imports this.

Three conv blocks (28 -> 14 -> 7 px) and a small head: about 0.45M parameters, some 2M
multiply-adds per image, so it trains on two CPU cores in minutes and classifies thousands of
images per second. The exported graph ends in a softmax (sidecar ``output.kind``).
"""

from __future__ import annotations

import torch
from torch import nn


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
    )


class SmallImageNet(nn.Module):
    """image [N, C, 28, 28] -> logits [N, n_classes]."""

    def __init__(self, channels: int, n_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(channels, 16),
            nn.MaxPool2d(2),
            _block(16, 32),
            nn.MaxPool2d(2),
            _block(32, 64),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(64 * 7 * 7, 128),
            nn.ReLU(),
            nn.Linear(128, n_classes),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(image))


class WithSoftmax(nn.Module):
    """Export wrapper: probabilities instead of logits."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(image), dim=1)
