"""driftloop: drift-triggered ML retraining with a human in the loop."""

__all__ = ["__version__"]

__version__ = "0.1.0"
