"""Mutation testing driver (``nox -s mutate``): see run.py and equivalent.md."""
