"""Gateway status and backend commands."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

__all__ = ["Command", "GatewayStatus"]


class GatewayStatus(BaseModel):
    """The retained status a gateway publishes; its last will is ``{"online": false}``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    online: StrictBool
    at: StrictStr | None = None
    version: StrictStr | None = None
    clock_synced: StrictBool | None = None
    outbox: Annotated[StrictInt, Field(ge=0)] | None = None
    devices: dict[str, dict[str, Any]] = Field(default_factory=dict)


class Command(BaseModel):
    """A command from the backend to one gateway."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: StrictStr
    command: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    args: dict[str, Any] = Field(default_factory=dict)
