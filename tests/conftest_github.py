"""Placeholder: the fake GitHub server fixtures land here."""
