"""mlci.retrain.update."""
