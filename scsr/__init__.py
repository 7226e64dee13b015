"""scsr-snn: train, export, simulate and build skip-connected self-recurrent SNNs."""

from golden_model import __version__

__all__ = ["__version__"]
