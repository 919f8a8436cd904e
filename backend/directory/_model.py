"""What the directory holds, as validated input: homes, residents, responders and contacts.

The same models check the seed file and the admin API's request bodies. Every one forbids
unknown keys, so a misspelt key fails loudly instead of being dropped.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from backend.alerts import OnDutyWindow

__all__ = [
    "ID_PATTERN",
    "AppriseChannel",
    "Channel",
    "Conditions",
    "ContactEntry",
    "ContactSettings",
    "HomeEntry",
    "HomePatch",
    "MqttChannel",
    "NewHome",
    "ResidentEntry",
    "ResidentPatch",
    "ResponderEntry",
    "ResponderKind",
    "ResponderPatch",
    "WebhookChannel",
    "availability_to_doc",
    "channel_from_doc",
    "channel_to_doc",
    "channels_from_doc",
]

#: Ids of homes, residents and responders: safe in a URL path and an MQTT topic level.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

EntityId = Annotated[str, Field(pattern=ID_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=128)]
Phone = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9 ()./-]{3,32}$")]
Email = Annotated[str, Field(max_length=128, pattern=r"^[^@\s]+@[^@\s]+$")]
Label = Annotated[str, Field(min_length=1, max_length=128)]
Address = Annotated[str, Field(min_length=1, max_length=256)]
#: A neighbourhood or service area, as the care organisation names it (``Xuhui, Caohejing``).
Community = Annotated[str, Field(min_length=1, max_length=64)]
Language = Annotated[str, Field(pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}$")]
BirthYear = Annotated[int, Field(ge=1890, le=2100)]
Notes = Annotated[str, Field(max_length=2000)]
Relation = Annotated[str, Field(min_length=1, max_length=64)]
Rank = Annotated[int, Field(ge=1, le=99)]
#: A C0 control character or DEL: never part of a short label.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not hold control characters (tabs, line breaks, NUL)")
    return value


def _distinct(values: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        first = seen.get(value.casefold())
        if first is not None:
            same = "" if first == value else f" (as {first!r}: case does not count)"
            raise ValueError(f"{value!r} is listed twice{same}")
        seen[value.casefold()] = value
    return values


#: A health condition as the care organisation writes it (``hypertension``, ``uses a
#: wheelchair``): surrounding spaces are dropped, and what is left must not be empty.
Condition = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
    AfterValidator(_printable),
]
#: A resident's health conditions (sensitive personal data): at most 20, each once,
#: whatever its case.
Conditions = Annotated[list[Condition], Field(max_length=20), AfterValidator(_distinct)]
#: On-duty windows (see backend/alerts/_availability.py); ``None`` is always available.
Availability = Annotated[tuple[OnDutyWindow, ...], Field(max_length=50)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResponderKind(StrEnum):
    """Who a responder is; the escalation ladder names them by kind."""

    FAMILY = "family"
    COMMUNITY_WORKER = "community_worker"
    CARE_PROVIDER = "care_provider"
    EMERGENCY_SERVICE = "emergency_service"


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


class WebhookChannel(_Strict):
    """An HTTP POST of the notification, signed with HMAC-SHA256 under ``secret``."""

    type: Literal["webhook"] = "webhook"
    url: Annotated[str, Field(max_length=500)]
    secret: SecretStr

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (a random string)")
        return value


class MqttChannel(_Strict):
    """A QoS 1 publish on ``homecare/v1/responders/{id}/notifications``."""

    type: Literal["mqtt"] = "mqtt"


class AppriseChannel(_Strict):
    """SMS, push or e-mail through an apprise URL (it may hold credentials: kept secret)."""

    type: Literal["apprise"] = "apprise"
    url: SecretStr

    @field_validator("url")
    @classmethod
    def _known_service(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if len(url) > 1000:
            raise ValueError("must be at most 1000 characters")
        if "://" not in url:
            raise ValueError("must be an apprise URL such as mailto://... or json://...")
        import apprise  # noqa: PLC0415 - loads every plugin; only needed when a URL is given

        if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
            scheme = url.split("://", 1)[0]
            raise ValueError(f"apprise does not accept this URL (scheme {scheme!r})")
        return value


Channel = Annotated[WebhookChannel | MqttChannel | AppriseChannel, Field(discriminator="type")]


def channel_to_doc(channel: WebhookChannel | MqttChannel | AppriseChannel) -> dict[str, Any]:
    """Return a channel as stored in ``responders.channels``, secrets included."""
    if isinstance(channel, WebhookChannel):
        return {"type": "webhook", "url": channel.url, "secret": channel.secret.get_secret_value()}
    if isinstance(channel, AppriseChannel):
        return {"type": "apprise", "url": channel.url.get_secret_value()}
    return {"type": "mqtt"}


def availability_to_doc(windows: tuple[OnDutyWindow, ...] | None) -> list[dict[str, Any]] | None:
    """Return availability as stored in ``responders.availability``."""
    return None if windows is None else [w.model_dump(mode="json") for w in windows]


class _ChannelHolder(_Strict):
    channel: Channel


def channel_from_doc(doc: dict[str, Any]) -> WebhookChannel | MqttChannel | AppriseChannel:
    """Validate one stored channel."""
    return _ChannelHolder.model_validate({"channel": doc}).channel


def channels_from_doc(docs: Any) -> tuple[WebhookChannel | MqttChannel | AppriseChannel, ...]:
    """Validate a stored channel list."""
    return tuple(channel_from_doc(d) for d in docs or ())


class ResidentEntry(_Strict):
    """A person living in a home (personal data: reading it is audited)."""

    id: EntityId
    name: Name
    birth_year: BirthYear | None = None
    phone: Phone | None = None
    #: A language tag such as ``zh-CN`` or ``yue``, for whoever calls the resident.
    language: Language | None = None
    notes: Notes | None = None
    #: Health conditions shown to operators with the resident: ``[]`` when none are known.
    conditions: Conditions = Field(default_factory=list)


class ResidentPatch(_Strict):
    """A change to a resident; keys left out stay as they are, ``null`` clears one."""

    home: Annotated[str, Field(pattern=ID_PATTERN)] | None = None
    name: Name | None = None
    birth_year: BirthYear | None = None
    phone: Phone | None = None
    language: Language | None = None
    notes: Notes | None = None
    #: Replaces the whole list; ``[]`` clears it.
    conditions: Conditions | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> ResidentPatch:
        for key in ("home", "name"):
            if key in self.model_fields_set and getattr(self, key) is None:
                raise ValueError(f"{key} cannot be cleared")
        if "conditions" in self.model_fields_set and self.conditions is None:
            raise ValueError("conditions cannot be null; send [] for none")
        return self


class ResponderEntry(_Strict):
    """Someone who can be notified or sent: their kind, how to reach them, and when."""

    id: EntityId
    name: Name
    kind: ResponderKind
    phone: Phone | None = None
    email: Email | None = None
    #: Tried in order: the first that delivers ends the notification.
    channels: Annotated[list[Channel], Field(max_length=10)] = Field(default_factory=list)
    #: On-duty windows; ``None`` means always available.
    availability: Availability | None = None
    active: bool = True


class ResponderPatch(_Strict):
    """A change to a responder; keys left out stay as they are."""

    name: Name | None = None
    kind: ResponderKind | None = None
    phone: Phone | None = None
    email: Email | None = None
    channels: Annotated[list[Channel], Field(max_length=10)] | None = None
    availability: Availability | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> ResponderPatch:
        for key in ("name", "kind", "channels", "active"):
            if key in self.model_fields_set and getattr(self, key) is None:
                raise ValueError(f"{key} cannot be cleared")
        return self


class ContactEntry(_Strict):
    """A responder assigned to a home; ``rank`` orders them within the ladder (1 first)."""

    responder_id: EntityId
    rank: Rank | None = None
    #: How the responder relates to the resident, for example ``daughter`` or ``GP``.
    relation: Relation | None = None


class HomeEntry(_Strict):
    """A home as the directory knows it: label, address, residents and contacts."""

    id: EntityId
    #: A short name for lists and screens; not personal data (for example ``Block 7, 3B``).
    label: Label | None = None
    #: The postal address: personal data, shown only with an audit entry.
    address: Address | None = None
    #: The community whose workers cover the home; boards group homes by it.
    community: Community | None = None
    residents: Annotated[list[ResidentEntry], Field(max_length=20)] = Field(default_factory=list)
    #: The home's responders; without ``rank`` they rank in the order listed.
    contacts: Annotated[list[ContactEntry], Field(max_length=50)] = Field(default_factory=list)

    def ranked_contacts(self) -> list[tuple[str, int, str | None]]:
        """Return ``(responder_id, rank, relation)``, filling a missing rank by position."""
        return [
            (c.responder_id, c.rank if c.rank is not None else i, c.relation)
            for i, c in enumerate(self.contacts, start=1)
        ]


class NewHome(_Strict):
    """A home added through the admin API."""

    id: EntityId
    label: Label | None = None
    address: Address | None = None
    community: Community | None = None


class ContactSettings(_Strict):
    """A responder's place among a home's contacts."""

    rank: Rank
    relation: Relation | None = None


class HomePatch(_Strict):
    """A change to a home's label, address or community; ``null`` clears one."""

    label: Label | None = None
    address: Address | None = None
    community: Community | None = None
