"""Business domains: one folder per noun, each with controllers (HTTP) → services (rules, transactions)."""
