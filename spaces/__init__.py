"""Bundled search spaces, installed as ``nasplat.spaces``; each registers through an entry point."""
