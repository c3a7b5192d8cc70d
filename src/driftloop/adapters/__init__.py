"""The only modules that talk to the outside world, each behind a small Protocol."""
