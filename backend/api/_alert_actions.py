"""Acting on alerts and dispatches: acknowledge, dispatch, escalate, reassign, resolve; accept,
decline, arrive. The actor recorded is the caller's username."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Annotated, Any, Self
from uuid import UUID

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import HTTPConnection

from backend._errors import StorageError
from backend.alerts import (
    AlertNotFoundError,
    ConcurrentChangeError,
    DispatchNotFoundError,
    IllegalTransitionError,
    InvalidCommandError,
    Lifecycle,
    Outcome,
    Result,
)
from backend.api._deps import Authorized, OperatorDep, SupervisorDep
from backend.api._problems import Problem
from backend.api._schemas import AlertOut, DispatchOut

__all__ = [
    "AcknowledgeIn",
    "ActionOut",
    "DeclineIn",
    "DispatchIn",
    "EscalateIn",
    "ReassignIn",
    "ResolveIn",
    "alert_actions_router",
]

_log = logging.getLogger(__name__)
# The token is checked first: a caller without one learns nothing, not even a 503.
alert_actions_router = APIRouter(dependencies=[Authorized])

Note = Annotated[str, Field(max_length=500)]
Reason = Annotated[str, Field(max_length=150)]
ResponderId = Annotated[str, Field(min_length=1, max_length=64)]
Username = Annotated[str, Field(min_length=1, max_length=64)]

_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such alert or dispatch"},
    409: {"description": "the current status does not allow this; the detail names it"},
    422: {"description": "the request names an unknown or inactive responder"},
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AcknowledgeIn(_In):
    note: Note | None = None


class DispatchIn(_In):
    """Responders to send; each gets a dispatch to accept within the ladder's accept time."""

    responder_ids: Annotated[list[ResponderId], Field(min_length=1, max_length=20)]
    note: Reason | None = None


class EscalateIn(_In):
    reason: Reason | None = None


class ReassignIn(_In):
    assignee: Username
    note: Reason | None = None


class ResolveIn(_In):
    outcome: Outcome
    note: Note | None = None


class DeclineIn(_In):
    reason: Reason | None = None


class ActionOut(BaseModel):
    """The alert after the action, and the dispatches the action created or changed."""

    model_config = ConfigDict(frozen=True)

    alert: AlertOut
    dispatches: list[DispatchOut]

    @classmethod
    def from_result(cls, result: Result) -> Self:
        return cls(
            alert=AlertOut.from_row(result.alert),
            dispatches=[DispatchOut.from_row(d) for d in result.dispatches],
        )


def _lifecycle(conn: HTTPConnection) -> Lifecycle:
    lifecycle = getattr(conn.app.state, "lifecycle", None)
    if not isinstance(lifecycle, Lifecycle):
        raise Problem(503, "the alert lifecycle is not running in this process")
    return lifecycle


LifecycleDep = Annotated[Lifecycle, Depends(_lifecycle)]


async def _run(action: Awaitable[Result]) -> ActionOut:
    """Await a lifecycle command and turn its refusals into problem documents."""
    try:
        return ActionOut.from_result(await action)
    except (AlertNotFoundError, DispatchNotFoundError) as err:
        raise Problem(404, str(err)) from err
    except IllegalTransitionError as err:
        extra: dict[str, Any] = {k: v for k, v in err.facts.items() if v is not None}
        raise Problem(409, err.detail, extra=extra) from err
    except InvalidCommandError as err:
        raise Problem(422, str(err)) from err
    except ConcurrentChangeError as err:
        raise Problem(409, str(err), title="Changed concurrently") from err
    except StorageError as err:
        _log.warning("alert action failed on storage: %s", err)
        raise Problem(503, "the database is unavailable; retry shortly") from err


@alert_actions_router.post("/alerts/{alert_id}/acknowledge", responses=_RESPONSES)
async def acknowledge(
    principal: OperatorDep,
    lifecycle: LifecycleDep,
    alert_id: UUID,
    body: Annotated[AcknowledgeIn | None, Body()] = None,
) -> ActionOut:
    """Acknowledge an open alert: the ladder stops. A second operator gets 409 naming the first."""
    note = body.note if body is not None else None
    return await _run(lifecycle.acknowledge(alert_id, principal.username, note))


@alert_actions_router.post("/alerts/{alert_id}/dispatch", responses=_RESPONSES)
async def dispatch(
    principal: OperatorDep, lifecycle: LifecycleDep, alert_id: UUID, body: DispatchIn
) -> ActionOut:
    """Send responders; an open alert counts as acknowledged by the caller."""
    return await _run(
        lifecycle.dispatch(alert_id, principal.username, body.responder_ids, body.note)
    )


@alert_actions_router.post("/alerts/{alert_id}/escalate", responses=_RESPONSES)
async def escalate(
    principal: SupervisorDep,
    lifecycle: LifecycleDep,
    alert_id: UUID,
    body: Annotated[EscalateIn | None, Body()] = None,
) -> ActionOut:
    """Move the alert one level up its ladder now, and tell that level (supervisors)."""
    reason = body.reason if body is not None else None
    return await _run(lifecycle.escalate(alert_id, principal.username, reason))


@alert_actions_router.post("/alerts/{alert_id}/reassign", responses=_RESPONSES)
async def reassign(
    principal: SupervisorDep, lifecycle: LifecycleDep, alert_id: UUID, body: ReassignIn
) -> ActionOut:
    """Give the alert to another operator (supervisors)."""
    return await _run(lifecycle.reassign(alert_id, principal.username, body.assignee, body.note))


@alert_actions_router.post("/alerts/{alert_id}/resolve", responses=_RESPONSES)
async def resolve(
    principal: OperatorDep, lifecycle: LifecycleDep, alert_id: UUID, body: ResolveIn
) -> ActionOut:
    """Close the alert with its outcome and a note; live dispatches are cancelled."""
    return await _run(lifecycle.resolve(alert_id, principal.username, body.outcome, body.note))


@alert_actions_router.post("/dispatches/{dispatch_id}/accept", responses=_RESPONSES)
async def accept(principal: OperatorDep, lifecycle: LifecycleDep, dispatch_id: UUID) -> ActionOut:
    """Record that the responder accepted a pending dispatch."""
    return await _run(lifecycle.accept(dispatch_id, principal.username))


@alert_actions_router.post("/dispatches/{dispatch_id}/decline", responses=_RESPONSES)
async def decline(
    principal: OperatorDep,
    lifecycle: LifecycleDep,
    dispatch_id: UUID,
    body: Annotated[DeclineIn | None, Body()] = None,
) -> ActionOut:
    """Record that the responder declined; the next responder of the same kind is sent."""
    reason = body.reason if body is not None else None
    return await _run(lifecycle.decline(dispatch_id, principal.username, reason))


@alert_actions_router.post("/dispatches/{dispatch_id}/arrive", responses=_RESPONSES)
async def arrive(principal: OperatorDep, lifecycle: LifecycleDep, dispatch_id: UUID) -> ActionOut:
    """Record that the responder arrived at the home."""
    return await _run(lifecycle.arrive(dispatch_id, principal.username))
