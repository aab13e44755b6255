"""roundup's benchmarks: run on demand with ``.venv/bin/python -m benchmarks``.

Never part of the test suite. See benchmarks/README.md.
"""
