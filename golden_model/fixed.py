"""The fixed-point number system of design §4, defined once.

Every other implementation (torch integer path, RTL generator, error messages) asks a
:class:`FixedPoint` for its ranges and widths instead of re-deriving them, so a change to
the rules happens here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEIGHT_BITS_RANGE = (2, 16)
STATE_BITS_RANGE = (8, 32)
DECAY_BITS_RANGE = (1, 16)


@dataclass(frozen=True)
class FixedPoint:
    """Bit widths of one bundle and the integer ranges they imply (§4).

    Parameters
    ----------
    weight_bits : int
        ``Bw`` (2–16): weights and ``w_self`` are signed ``Bw``-bit integers.
    state_bits : int
        ``Bs`` (8–32): the synaptic current ``I`` and membrane ``V`` are signed ``Bs``-bit.
    decay_bits : int
        ``F`` (1–16): ``alpha_q``/``beta_q`` are unsigned ``F``-bit, ``α ≈ alpha_q / 2^F``.
    """

    weight_bits: int
    state_bits: int
    decay_bits: int

    def __post_init__(self) -> None:
        for name, (lo, hi) in (
            ("weight_bits", WEIGHT_BITS_RANGE),
            ("state_bits", STATE_BITS_RANGE),
            ("decay_bits", DECAY_BITS_RANGE),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(f"{name} = {value!r} is outside [{lo}, {hi}]")

    # --- ranges ---------------------------------------------------------------------------
    @property
    def w_min(self) -> int:
        """Smallest weight / ``w_self``: ``-2^(Bw-1)``."""
        return -(1 << (self.weight_bits - 1))

    @property
    def w_max(self) -> int:
        """Largest weight / ``w_self``: ``2^(Bw-1) - 1``."""
        return (1 << (self.weight_bits - 1)) - 1

    @property
    def s_min(self) -> int:
        """Lower saturation bound of ``I`` and ``V``: ``-2^(Bs-1)``."""
        return -(1 << (self.state_bits - 1))

    @property
    def s_max(self) -> int:
        """Upper saturation bound of ``I`` and ``V``: ``2^(Bs-1) - 1``."""
        return (1 << (self.state_bits - 1)) - 1

    @property
    def theta_min(self) -> int:
        """Smallest threshold: 1 (a threshold of 0 would fire on any positive ``v``)."""
        return 1

    @property
    def theta_max(self) -> int:
        """Largest threshold, ``2^(Bs-1) - 1``: a neuron with it never fires (``v > θ``)."""
        return self.s_max

    @property
    def decay_max(self) -> int:
        """Largest ``alpha_q``/``beta_q``: ``2^F - 1`` (so ``α < 1``)."""
        return (1 << self.decay_bits) - 1

    @property
    def decay_half(self) -> int:
        """The rounding constant ``2^(F-1)`` of :meth:`decay` (round half up)."""
        return 1 << (self.decay_bits - 1)

    def range_of(self, kind: str) -> tuple[int, int]:
        """Inclusive range of ``weight``, ``w_self``, ``alpha``, ``beta`` or ``theta`` values."""
        if kind in ("weight", "w_self"):
            return self.w_min, self.w_max
        if kind in ("alpha", "beta"):
            return 0, self.decay_max
        if kind == "theta":
            return self.theta_min, self.theta_max
        raise KeyError(kind)

    def bits_of(self, kind: str) -> int:
        """Storage bits of one element of an array kind (what a memory for it needs)."""
        if kind in ("weight", "w_self"):
            return self.weight_bits
        if kind in ("alpha", "beta"):
            return self.decay_bits
        if kind == "theta":
            return self.state_bits - 1  # unsigned, [1, 2^(Bs-1) - 1]
        raise KeyError(kind)

    # --- arithmetic -----------------------------------------------------------------------
    def decay(self, x: np.ndarray, d: np.ndarray) -> np.ndarray:
        """``decay(x, d) = (x*d + 2^(F-1)) >> F`` with an arithmetic (flooring) shift.

        Computed in the integer dtype of ``x`` and ``d``. The product needs at most
        ``Bs + F`` bits, so int64 is always exact; int32 is exact when ``Bs + F ≤ 31``.
        """
        return (np.asarray(x) * d + self.decay_half) >> self.decay_bits

    def sat(self, x: np.ndarray) -> np.ndarray:
        """Clamp to ``[-2^(Bs-1), 2^(Bs-1) - 1]``."""
        return np.clip(x, self.s_min, self.s_max)

    def as_dict(self) -> dict[str, int]:
        """The manifest's ``fixed_point`` object."""
        return {
            "weight_bits": self.weight_bits,
            "state_bits": self.state_bits,
            "decay_bits": self.decay_bits,
        }
