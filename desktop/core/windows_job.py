"""Limits for a pupil's program on Windows: a job object, the Windows counterpart of rlimits.

On Linux and macOS, `desktop.core.local_runner` sets resource limits in the child before it starts.
Windows has no rlimits; instead the program is put in a job object right after it is created (it is
our own interpreter, so it has run no pupil code yet) with:
- a memory cap for the whole job (the program and everything it starts),
- a cap on the number of live processes (a fork bomb stops at the cap),
- a CPU time budget for the whole job,
- kill-on-close: when the app closes the job handle, or dies, every process in the job dies with it.
Stop and timeouts terminate the whole job at once (`TerminateJobObject`), children included.

Written against the Win32 API with ctypes (no extra dependency). These development machines run
Linux, so this module is exercised only by the Windows installer's self-test; on other systems
`WindowsJob.create` returns None and nothing here runs.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["JOB_MEMORY_EXIT_HINT", "WindowsJob"]

#: What a program that hit the job's memory cap typically prints last (allocation fails inside Python).
JOB_MEMORY_EXIT_HINT = "MemoryError"

_JOB_OBJECT_LIMIT_PROCESS_TIME = 0x00000002
_JOB_OBJECT_LIMIT_JOB_TIME = 0x00000004
_JOB_OBJECT_LIMIT_ACTIVE_PROCESS = 0x00000008
_JOB_OBJECT_LIMIT_JOB_MEMORY = 0x00000200
_JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION = 0x00000400
_JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000
_JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9
_PROCESS_SET_QUOTA = 0x0100
_PROCESS_TERMINATE = 0x0001
_TICKS_PER_SECOND = 10_000_000  # job times are in 100-nanosecond units


class WindowsJob:
    """One job object holding one program and everything it starts."""

    def __init__(self, handle: int, kernel32: Any) -> None:
        self._handle = handle
        self._kernel32 = kernel32

    @classmethod
    def create(cls, *, memory_bytes: int, processes: int, cpu_seconds: int) -> WindowsJob | None:
        """A job with these limits, or None where there are no job objects (not Windows)."""
        if sys.platform != "win32":
            return None
        return cls._create_windows(memory_bytes=memory_bytes, processes=processes, cpu_seconds=cpu_seconds)

    if sys.platform == "win32":

        @classmethod
        def _create_windows(cls, *, memory_bytes: int, processes: int, cpu_seconds: int) -> WindowsJob:
            import ctypes
            from ctypes import wintypes

            class IoCounters(ctypes.Structure):
                _fields_ = [(name, ctypes.c_ulonglong) for name in (
                    "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
                    "ReadTransferCount", "WriteTransferCount", "OtherTransferCount",
                )]  # fmt: skip

            class BasicLimits(ctypes.Structure):
                _fields_ = [
                    ("PerProcessUserTimeLimit", ctypes.c_longlong),
                    ("PerJobUserTimeLimit", ctypes.c_longlong),
                    ("LimitFlags", wintypes.DWORD),
                    ("MinimumWorkingSetSize", ctypes.c_size_t),
                    ("MaximumWorkingSetSize", ctypes.c_size_t),
                    ("ActiveProcessLimit", wintypes.DWORD),
                    ("Affinity", ctypes.c_size_t),
                    ("PriorityClass", wintypes.DWORD),
                    ("SchedulingClass", wintypes.DWORD),
                ]

            class ExtendedLimits(ctypes.Structure):
                _fields_ = [
                    ("BasicLimitInformation", BasicLimits),
                    ("IoInfo", IoCounters),
                    ("ProcessMemoryLimit", ctypes.c_size_t),
                    ("JobMemoryLimit", ctypes.c_size_t),
                    ("PeakProcessMemoryUsed", ctypes.c_size_t),
                    ("PeakJobMemoryUsed", ctypes.c_size_t),
                ]

            kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
            kernel32.CreateJobObjectW.restype = wintypes.HANDLE
            handle = kernel32.CreateJobObjectW(None, None)
            if not handle:
                raise OSError(ctypes.get_last_error(), "CreateJobObjectW failed")
            limits = ExtendedLimits()
            basic = limits.BasicLimitInformation
            basic.LimitFlags = (
                _JOB_OBJECT_LIMIT_JOB_MEMORY
                | _JOB_OBJECT_LIMIT_ACTIVE_PROCESS
                | _JOB_OBJECT_LIMIT_JOB_TIME
                | _JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
                | _JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION
            )
            basic.ActiveProcessLimit = processes
            basic.PerJobUserTimeLimit = cpu_seconds * _TICKS_PER_SECOND
            limits.JobMemoryLimit = memory_bytes
            if not kernel32.SetInformationJobObject(
                handle, _JOB_OBJECT_EXTENDED_LIMIT_INFORMATION, ctypes.byref(limits), ctypes.sizeof(limits)
            ):
                error = ctypes.get_last_error()
                kernel32.CloseHandle(handle)
                raise OSError(error, "SetInformationJobObject failed")
            return cls(handle, kernel32)

        def add(self, pid: int) -> None:
            """Put the process `pid` (just created, running our own interpreter) in the job."""
            import ctypes

            process = self._kernel32.OpenProcess(_PROCESS_SET_QUOTA | _PROCESS_TERMINATE, False, pid)
            if not process:
                raise OSError(ctypes.get_last_error(), "OpenProcess failed")
            try:
                if not self._kernel32.AssignProcessToJobObject(self._handle, process):
                    raise OSError(ctypes.get_last_error(), "AssignProcessToJobObject failed")
            finally:
                self._kernel32.CloseHandle(process)

        def terminate(self) -> None:
            """Kill every process in the job, children included."""
            self._kernel32.TerminateJobObject(self._handle, 1)

        def close(self) -> None:
            """Close the handle: kill-on-close ends anything still running."""
            if self._handle:
                self._kernel32.CloseHandle(self._handle)
                self._handle = 0

    else:

        @classmethod
        def _create_windows(cls, *, memory_bytes: int, processes: int, cpu_seconds: int) -> WindowsJob:
            raise OSError("job objects exist only on Windows")

        def add(self, pid: int) -> None:
            raise OSError("job objects exist only on Windows")

        def terminate(self) -> None:
            raise OSError("job objects exist only on Windows")

        def close(self) -> None:
            raise OSError("job objects exist only on Windows")
