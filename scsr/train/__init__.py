"""Training of ScSr-SNNs: config, loop (BIP + QAT), DDP, checkpoints, metrics and plots."""

from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig, load_toml
from .loop import evaluate, model_config, train

__all__ = ["TrainConfig", "evaluate", "load_checkpoint", "load_toml", "model_config",
           "save_checkpoint", "train"]
