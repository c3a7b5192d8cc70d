"""GitOps proposals: overlay editing (round-trip YAML) and PR/issue bodies (jinja2)."""
