"""mlci.monitor."""
