"""cocotb bus models of the generated design's ports (loaded inside the simulator only)."""

from .spike_stream import ResultSink, SpikeEventSource, TraceMonitor
from .stream import CycleScheduler, StreamMonitor, StreamSink, StreamSource, random_pause

__all__ = ["CycleScheduler", "ResultSink", "SpikeEventSource", "StreamMonitor", "StreamSink",
           "StreamSource", "TraceMonitor", "random_pause"]
