"""The one-command local loop (``driftloop demo``): it orchestrates real processes over the
synthetic data in ``driftloop.synthetic`` and the loop's stages in ``driftloop.loop``."""
