"""Full-text search over the message log, engagements and providers (issue 15)."""
