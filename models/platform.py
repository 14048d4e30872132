"""Platform mechanisms shared by every domain: order transitions (timelines), idempotency keys."""
