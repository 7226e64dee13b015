"""cocotb bus models of the generated design's ports (loaded inside the simulator only)."""

from .spike_stream import (
    CycleScheduler,
    ResultSink,
    SpikeEventSource,
    StreamMonitor,
    StreamSink,
    StreamSource,
    TraceMonitor,
    random_pause,
)

__all__ = ["CycleScheduler", "ResultSink", "SpikeEventSource", "StreamMonitor", "StreamSink",
           "StreamSource", "TraceMonitor", "random_pause"]
