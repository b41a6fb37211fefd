"""Choices an admin makes for the whole school, which every desktop app learns and keeps offline."""

from typing import Literal

import msgspec

CodeExecution = Literal["laptop_first", "server_only"]
CODE_EXECUTION_CHOICES: tuple[CodeExecution, ...] = ("laptop_first", "server_only")


class SchoolSettings(msgspec.Struct, kw_only=True):
    """`code_execution`: "laptop_first" (the default: pupils' programs run on the laptop at once, also
    offline, and the server's sandbox gives the marks that count) or "server_only" (for schools that
    forbid running code on laptops: every run goes to the sandbox)."""

    code_execution: CodeExecution = "laptop_first"


class SchoolSettingsUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code_execution: CodeExecution


__all__ = ["CODE_EXECUTION_CHOICES", "CodeExecution", "SchoolSettings", "SchoolSettingsUpdate"]
