"""Bundled objectives: each a function of one evaluation record, with its direction and source."""
