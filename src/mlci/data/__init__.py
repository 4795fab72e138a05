"""mlci.data."""
