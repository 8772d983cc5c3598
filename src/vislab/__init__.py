"""vislab: seeing and generating with neural networks, written to be read and checked to be trusted."""

__version__ = "0.1.0"
