"""smc package."""
