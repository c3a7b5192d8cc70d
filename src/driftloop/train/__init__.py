"""Training driven by model.yaml: data validation, pipelines, fitting, evaluation, and the
model bundle (with its fast scoring path) that retrain registers and serve loads."""
