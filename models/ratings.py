"""Models for ratings (placeholder)."""
