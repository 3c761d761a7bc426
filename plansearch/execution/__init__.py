"""Running candidates against tests, isolated and in parallel."""
