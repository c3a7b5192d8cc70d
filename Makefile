# Developer shortcuts; CI and the README call the same scripts.
.PHONY: setup test lint validate schema rules manifests bench demo

setup:
	bash scripts/setup.sh

test:
	bash scripts/test.sh

lint:
	.venv/bin/ruff check src tests benchmarks scripts
	.venv/bin/ruff format --check src tests benchmarks scripts
	.venv/bin/mypy

rules:
	.venv/bin/python -m driftloop.generate.rules > k8s/base/prometheus-rule.yaml

manifests:
	.venv/bin/python -m driftloop.generate.manifests .

validate:
	bash scripts/validate.sh

schema:
	.venv/bin/python -m driftloop.config.schema policies/schema

bench:
	.venv/bin/python benchmarks/drift_engine.py

demo:
	bash scripts/demo.sh
