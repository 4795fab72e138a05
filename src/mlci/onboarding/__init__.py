"""mlci.onboarding."""
