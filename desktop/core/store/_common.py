"""What every part of the store shares: clocks, ISO times and the JSON codecs for stored Structs."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from shared.lessons.model import Activity, Lesson, LessonSummary
from shared.wire.marks import Mark

lesson_decoder = msgspec.json.Decoder(Lesson)
activity_decoder: msgspec.json.Decoder[Activity] = msgspec.json.Decoder(Activity)
summary_decoder = msgspec.json.Decoder(LessonSummary)
summaries_decoder = msgspec.json.Decoder(list[LessonSummary])
mark_decoder = msgspec.json.Decoder(Mark)
encoder = msgspec.json.Encoder()


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def encode(value: object) -> str:
    return encoder.encode(value).decode()
