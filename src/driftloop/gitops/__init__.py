"""What goes through git, pure: the overlay pins (round-trip YAML), the image digest,
CODEOWNERS, what counts as an approval, limits on workflow inputs, and PR and issue bodies
(jinja2, every value escaped)."""
