"""Bundled loggers: send a study's events elsewhere, through the event hooks alone."""
