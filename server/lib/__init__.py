"""Cross-cutting server pieces: errors, security, client IP, rate limits, audit, metrics, logging."""
