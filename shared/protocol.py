"""Protocol version spoken between the desktop app and the server.

The desktop sends `PROTOCOL_HEADER` on every request (and `protocol` in a sync push). The server answers
426 Upgrade Required with `ErrorCode.PROTOCOL_OUTDATED` when the client is older than
`MIN_PROTOCOL_VERSION`, so an old app tells its user to update instead of corrupting data.
"""

PROTOCOL_VERSION = 1
MIN_PROTOCOL_VERSION = 1
PROTOCOL_HEADER = "X-Post16-Protocol"

__all__ = ["MIN_PROTOCOL_VERSION", "PROTOCOL_HEADER", "PROTOCOL_VERSION"]
