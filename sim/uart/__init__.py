"""cocotb UART models and the testbench of :class:`~rtl.board.UartTop` (with its runner)."""
