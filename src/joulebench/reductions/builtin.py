"""Imports the built-in reduction modules so they register themselves."""
