"""mlci.drift.engine."""
