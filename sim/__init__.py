"""cocotb testbenches, the Icarus/Verilator runner and the RTL simulation backends.

Imports :mod:`rtl` and :mod:`golden_model` (design §2); cocotb itself is loaded only inside
the simulator process (:mod:`sim.cocotb_net`) and by :mod:`sim.runner` when it builds.
"""
