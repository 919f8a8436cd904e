"""The ``[notify]`` section of the backend config: retries, timeouts, role queues' channels."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.directory import ID_PATTERN, AppriseChannel, WebhookChannel

__all__ = ["ConsoleChannel", "NotifySettings", "QueueChannel"]


class ConsoleChannel(BaseModel):
    """The operators' console: the live stream already shows the alert, so it counts as sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["console"] = "console"


QueueChannel = Annotated[
    ConsoleChannel | WebhookChannel | AppriseChannel, Field(discriminator="type")
]


class NotifySettings(BaseModel):
    """How notifications are delivered; every channel is tried ``max_attempts`` times."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Attempts per channel before the next channel (or failure); the first is not a retry.
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 4
    #: Wait before the first retry (seconds); it doubles after each failed attempt.
    backoff_s: Annotated[float, Field(ge=0.01, le=60)] = 1.0
    #: The longest wait between two attempts (seconds).
    backoff_max_s: Annotated[float, Field(ge=0.01, le=600)] = 30.0
    #: How long one attempt may take (seconds) before it counts as failed.
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    #: Deliveries in progress at once; one slow receiver never holds up the others.
    workers: Annotated[int, Field(ge=1, le=64)] = 4
    #: Channels of the role queues, by queue name (``operator`` for ``queue:operator``).
    #: A queue not listed, or listed empty, is the console only.
    queues: dict[str, list[QueueChannel]] = Field(default_factory=dict)

    @field_validator("queues")
    @classmethod
    def _queue_names(cls, value: dict[str, list[QueueChannel]]) -> dict[str, list[QueueChannel]]:
        for name in value:
            if not re.fullmatch(ID_PATTERN, name):
                raise ValueError(f"queue name {name!r}: use 1 to 64 of A-Z a-z 0-9 _ -")
        return value

    @model_validator(mode="after")
    def _backoff_ordered(self) -> NotifySettings:
        if self.backoff_max_s < self.backoff_s:
            raise ValueError("backoff_max_s must be at least backoff_s")
        return self
