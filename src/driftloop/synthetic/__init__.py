"""Seeded synthetic data: one generator per demo model (``generators``) and the scenarios that
shift it (``scenarios``). The bottom of the house: ``demo://`` URIs, the demo, the tests and the
benchmarks read it; it imports nothing of the loop."""
