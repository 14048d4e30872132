"""Models for points (placeholder)."""
