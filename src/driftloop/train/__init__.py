"""Training driven by model.yaml: data loading and validation, pipelines, evaluation."""
