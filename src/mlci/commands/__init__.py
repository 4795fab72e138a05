"""One module per command: orchestration only; domain modules do the work."""
