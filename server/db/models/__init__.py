"""One model per table. Importing this package registers every table on `Base.metadata`."""

from server.db.models.activity_revision import ActivityRevision
from server.db.models.activity_state import ActivityState
from server.db.models.assignment import Assignment
from server.db.models.audit_entry import AuditEntry
from server.db.models.code_check import CodeCheck
from server.db.models.enrolment import Enrolment
from server.db.models.lesson_version import LessonVersion
from server.db.models.login_throttle import LoginThrottle
from server.db.models.mark import Mark
from server.db.models.rate_limit_window import RateLimitWindow
from server.db.models.school_class import SchoolClass
from server.db.models.school_setting import SchoolSetting
from server.db.models.sync_event import SyncEvent
from server.db.models.sync_operation import SyncOperation
from server.db.models.trusted_device import TrustedDevice
from server.db.models.user import User
from server.db.models.user_session import UserSession

__all__ = [
    "ActivityRevision",
    "ActivityState",
    "Assignment",
    "AuditEntry",
    "CodeCheck",
    "Enrolment",
    "LessonVersion",
    "LoginThrottle",
    "Mark",
    "RateLimitWindow",
    "SchoolClass",
    "SchoolSetting",
    "SyncEvent",
    "SyncOperation",
    "TrustedDevice",
    "User",
    "UserSession",
]
