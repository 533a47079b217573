"""Bundled plugins: strategies, surrogates, objectives, datasets and executors.

Installed as ``nasplat.plugins``; each module registers through an entry point in nasplat's
``pyproject.toml``, exactly as a third-party package would.
"""
