"""The model server: MLflow's scoring protocol plus drift telemetry for Prometheus."""
