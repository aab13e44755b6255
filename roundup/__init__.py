"""roundup: turn a list of RSS, Atom and JSON feeds into a weekly roundup newsletter."""

__version__ = "0.1.0"
