"""``scsr flow``: dataset → train → export → evaluate → cosim → synth (→ fsdd) → summary,
each stage cached by a hash of its inputs and resumable after a kill (docs/getting-started.md).
"""

from .config import FlowConfig
from .runner import run_stages
from .steps import STAGE_NAMES
from .summary import build_summary, format_table, write_summary

__all__ = ["STAGE_NAMES", "FlowConfig", "build_summary", "format_table", "run_stages",
           "write_summary"]
