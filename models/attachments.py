"""Models for attachments (placeholder)."""
