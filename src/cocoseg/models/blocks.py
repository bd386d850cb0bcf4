"""YOLOv8 building blocks: Conv+BN+SiLU, Bottleneck, C2f, SPPF, DFL and the mask prototype network."""
from __future__ import annotations

import torch
from torch import nn

# BatchNorm settings the reference applies at init (eps 1e-3, momentum 0.03)
BN_EPS = 1e-3
BN_MOMENTUM = 0.03


class ConvBNAct(nn.Module):
    """Bias-free Conv2d ('same' padding for odd kernels) + BatchNorm + SiLU; `fuse()` folds the BN."""

    def __init__(self, c_in: int, c_out: int, k: int = 1, s: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False)
        self.bn: nn.Module = nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))

    @torch.no_grad()
    def fuse(self) -> None:
        """Fold BatchNorm into the convolution (eval-mode statistics); idempotent."""
        bn = self.bn
        if not isinstance(bn, nn.BatchNorm2d):
            return
        conv = self.conv
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        fused = nn.Conv2d(
            conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
            groups=conv.groups, bias=True, device=conv.weight.device, dtype=conv.weight.dtype,
        )
        fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
        fused.bias.copy_(bn.bias - bn.running_mean * scale)
        fused.requires_grad_(conv.weight.requires_grad)
        self.conv = fused
        self.bn = nn.Identity()


class Bottleneck(nn.Module):
    """Two 3x3 ConvBNAct with an optional residual connection (expansion 1.0)."""

    def __init__(self, c: int, shortcut: bool) -> None:
        super().__init__()
        self.conv1 = ConvBNAct(c, c, 3)
        self.conv2 = ConvBNAct(c, c, 3)
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(x))
        return x + y if self.shortcut else y


class C2f(nn.Module):
    """CSP block: 1x1 conv split in two halves, a chain of bottlenecks on the second half, all concatenated."""

    def __init__(self, c_in: int, c_out: int, n: int, shortcut: bool) -> None:
        super().__init__()
        self.hidden = c_out // 2
        self.split = ConvBNAct(c_in, 2 * self.hidden, 1)
        self.blocks = nn.ModuleList(Bottleneck(self.hidden, shortcut) for _ in range(n))
        self.fuse = ConvBNAct((2 + n) * self.hidden, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        chunks = list(self.split(x).chunk(2, 1))
        for block in self.blocks:
            chunks.append(block(chunks[-1]))
        return self.fuse(torch.cat(chunks, 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling (fast): three chained 5x5 stride-1 max-pools, concatenated with the input."""

    def __init__(self, c_in: int, c_out: int, k: int = 5) -> None:
        super().__init__()
        hidden = c_in // 2
        self.reduce = ConvBNAct(c_in, hidden, 1)
        self.pool = nn.MaxPool2d(k, 1, k // 2)
        self.fuse = ConvBNAct(hidden * 4, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduce(x)
        y1 = self.pool(x)
        y2 = self.pool(y1)
        return self.fuse(torch.cat((x, y1, y2, self.pool(y2)), 1))


class DFL(nn.Module):
    """Distribution focal loss decoder: softmax over `reg_max` bins, expectation by a frozen 1x1 conv.

    Kept as a (frozen) parameter rather than a buffer so parameter counts match the published ones.
    """

    def __init__(self, reg_max: int = 16) -> None:
        super().__init__()
        self.reg_max = reg_max
        self.conv = nn.Conv2d(reg_max, 1, 1, bias=False).requires_grad_(False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.arange(reg_max, dtype=torch.float32).view(1, reg_max, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 4*reg_max, A] distribution logits -> [B, 4, A] expected distances (in stride units)."""
        b, _, a = x.shape
        probs = x.view(b, 4, self.reg_max, a).transpose(2, 1).softmax(1)
        return self.conv(probs).view(b, 4, a)


class Proto(nn.Module):
    """Mask prototypes from P3: 3x3 conv, x2 transposed conv, 3x3 conv, 1x1 conv to `num_masks` maps."""

    def __init__(self, c_in: int, hidden: int, num_masks: int = 32) -> None:
        super().__init__()
        self.conv1 = ConvBNAct(c_in, hidden, 3)
        self.upsample = nn.ConvTranspose2d(hidden, hidden, 2, 2, 0, bias=True)
        self.conv2 = ConvBNAct(hidden, hidden, 3)
        self.conv3 = ConvBNAct(hidden, num_masks, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.conv2(self.upsample(self.conv1(x))))


def branch(c_in: int, hidden: int, c_out: int) -> nn.Sequential:
    """A head branch: two 3x3 ConvBNAct then a plain 1x1 Conv2d (with bias) to `c_out` channels."""
    return nn.Sequential(ConvBNAct(c_in, hidden, 3), ConvBNAct(hidden, hidden, 3), nn.Conv2d(hidden, c_out, 1))
