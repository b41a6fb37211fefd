"""The desktop app's library: no Qt here (checked by import-linter), so all of it is testable headless.

- `settings`     typed settings from command line, user config, machine config, environment
- `store`        the per-user SQLite store: lesson cache, answers, outbox, marks, receipts
- `client`       the HTTP client (httpx), one method per endpoint
- `engine`       the sync engine (push, pull, lessons) and its back-off loop
- `session`      login / resume / logout and which store belongs to whom
- `credentials`  the session token in the OS keyring or a private file
- `errors`       the exception hierarchy
"""

import sys

# httpx's own command-line tool (httpx._main) imports click, pygments and rich whenever they are
# installed (~0.3 s, a quarter of the app's start-up); httpx falls back to a stub when it cannot be
# imported, and the app never runs it. A None entry in sys.modules makes that import fail at once.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
