"""The contract both sides of Post16 Lessons agree on: wire types, protocol version, error codes, lessons.

`shared` imports nothing of ours (checked by import-linter): the server, the desktop app and the sandbox
import it, never the other way round.
"""

from shared.errors import ErrorCode
from shared.protocol import MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION

__all__ = ["MIN_PROTOCOL_VERSION", "PROTOCOL_HEADER", "PROTOCOL_VERSION", "ErrorCode"]
