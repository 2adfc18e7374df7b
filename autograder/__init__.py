"""backprop-hw: release, grade and teach a numpy backpropagation homework."""

__version__ = "0.1.0"
