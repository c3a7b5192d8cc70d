"""Reading tabular data from paths, fsspec URIs and ``demo://`` scenarios."""
