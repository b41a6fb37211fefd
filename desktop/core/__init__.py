"""The desktop app's library: no Qt here (checked by import-linter), so all of it is testable headless.

- `settings`     typed settings from command line, user config, machine config, environment
- `store`        the per-user SQLite store: lesson cache, answers, outbox, marks, receipts
- `client`       the HTTP client (httpx), one method per endpoint
- `engine`       the sync engine (push, pull, lessons) and its back-off loop
- `session`      login / resume / logout and which store belongs to whom
- `credentials`  the session token in the OS keyring or a private file
- `errors`       the exception hierarchy
"""
