"""Bundled datasets: generated ones that need no files, and loaders for local real data."""
