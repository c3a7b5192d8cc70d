"""Generators of the files the cluster runs: Prometheus rules from the drift policy
(``rules``) and each model's Kubernetes manifests from its spec (``manifests``). Their
outputs are committed; tests regenerate and compare."""
