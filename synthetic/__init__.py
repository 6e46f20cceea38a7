"""The synthetic world: a data bundle with a known truth, for development, tests and benches.

Not production code: nothing in ``features/``, ``training/`` or ``service/`` imports it.
"""
