"""Random cases for checking the fused scan against the per-step autograd reference.

The tests draw them on the CPU (hypothesis) and ``tools/gpu_letters_plan.py`` draws them
to vet a GPU's Triton kernels before trusting it with training: one generator, so both
check the same kind of input in the same way. A checking aid, not part of the package, so it
lives in ``tools/`` (tests may import from tools; ``scsr`` may not).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from golden_model import FixedPoint
from scsr.model.scan import NeuronParams, ScanMode

#: The modes the checks cover: float training, QAT at a typical and a tiny width, and QAT
#: with one unit per neuron (``equalise`` with ``stretch_surrogate``; see :func:`mode_for`).
MODES = {"float": ScanMode(slope=4.0),
         "qat-8-16-8": ScanMode(FixedPoint(8, 16, 8), unit=1 / 300, slope=4.0),
         "qat-2-8-1": ScanMode(FixedPoint(2, 8, 1), unit=1 / 20, slope=2.0),
         "qat-8-16-8-stretched": ScanMode(FixedPoint(8, 16, 8), unit=1 / 300, slope=4.0)}

#: What :func:`run_scan`'s gradients are of, in order.
GRADIENTS = ("x", "alpha", "beta", "theta", "w_self")


def mode_for(name: str, size: int, device: str = "cpu") -> ScanMode:
    """``MODES[name]`` for a layer of ``size`` neurons on ``device``; a ``-stretched`` mode
    divides its unit per neuron by ``c`` from 1 to 8 (as
    :func:`scsr.model.quant.neuron_stretch` does)."""
    mode = MODES[name]
    if not name.endswith("-stretched"):
        return mode
    return mode._replace(unit=mode.unit / torch.linspace(1.0, 8.0, size, device=device))


def random_case(seed: int, steps: int, batch: int, size: int, mode: ScanMode
                ) -> tuple[list[torch.Tensor], torch.Tensor]:
    """CPU leaf tensors ``[x, α, β, θ, w_self]`` (requiring grad) and readout weights.

    In QAT mode the values are integers inside the widths' ranges, as the QAT forward
    feeds them; in float mode, currents of either sign around the thresholds.
    """
    g = torch.Generator().manual_seed(seed)
    fp = mode.quant
    if fp is not None:
        top = fp.s_max // 3
        x = torch.randint(-top // 2, top, (steps, batch, size), generator=g).float()
        p = [torch.randint(0, fp.decay_max + 1, (size,), generator=g) / (fp.decay_max + 1.0),
             torch.randint(0, fp.decay_max + 1, (size,), generator=g) / (fp.decay_max + 1.0),
             torch.randint(1, top, (size,), generator=g).float(),
             torch.randint(fp.w_min, fp.w_max + 1, (size,), generator=g).float()]
    else:
        x = torch.randn(steps, batch, size, generator=g) * 0.7
        p = [torch.rand(size, generator=g), torch.rand(size, generator=g),
             torch.rand(size, generator=g) + 0.2, torch.randn(size, generator=g) * 0.5]
    tensors = [t.requires_grad_(True) for t in (x, *p)]
    return tensors, torch.randn(steps, batch, size, generator=g)


def run_scan(scan: Callable[..., torch.Tensor], tensors: list[torch.Tensor],
             weights: torch.Tensor, mode: ScanMode
             ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Spikes of ``scan`` and the gradients of ``sum(spikes · weights)`` (see GRADIENTS)."""
    for t in tensors:
        t.grad = None
    s = scan(tensors[0], NeuronParams(*tensors[1:]), mode)
    (s * weights).sum().backward()
    return s.detach(), [t.grad.clone() for t in tensors]
