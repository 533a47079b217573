"""Bundled executors."""
