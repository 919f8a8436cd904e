"""Delivery through real channels to local receivers, each attempt recorded in the database."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from backend.directory import Directory, HomePatch, ResidentEntry
from backend.notify import (
    DELIVERY_HEADER,
    DeliveryResult,
    NotifySettings,
    verify_webhook,
)
from backend.storage import Store
from backend.storage._tables import notifications
from protocol.mqtt import MqttClient
from tests.brokers import Broker
from tests.notify.conftest import FAST, NOW, add_alert, add_responder, pending, running
from tests.notify.receiver import Receiver

SECRET = "s3cret-for-the-test-webhook"

pytestmark = pytest.mark.timeout(60)


async def row(store: Store, notification_id: UUID) -> dict[str, Any]:
    async with store.reading() as conn:
        found = (
            await conn.execute(
                sa.select(notifications).where(notifications.c.id == notification_id)
            )
        ).one()
    return dict(found._mapping)


def webhook(url: str) -> dict[str, str]:
    return {"type": "webhook", "url": url, "secret": SECRET}


async def test_webhook_is_signed_and_recorded(store: Store) -> None:
    alert_id = await add_alert(store)
    async with Receiver() as receiver:
        responder = await add_responder(store, channels=[webhook(f"{receiver.url}/hook")])
        request = await pending(store, alert_id, responder)
        async with running(store) as notifier:
            notifier.submit([request])
            await notifier.join()
        [got] = receiver.received
    assert got.method == "POST"
    assert got.path == "/hook"
    assert got.header(DELIVERY_HEADER) == str(request.id)
    assert verify_webhook(SECRET, got.body, got.headers, now=time.time())
    doc = json.loads(got.body)
    assert doc["alert_id"] == str(alert_id)
    assert doc["kind"] == "sos"
    assert doc["link"] == f"/api/v1/alerts/{alert_id}"
    # Any change to the body breaks the signature; so does another secret.
    tampered = got.body.replace(b'"priority":1', b'"priority":3')
    assert tampered != got.body
    assert not verify_webhook(SECRET, tampered, got.headers, now=time.time())
    assert not verify_webhook("another-secret-entirely", got.body, got.headers, now=time.time())
    stored = await row(store, request.id)
    assert (stored["status"], stored["channel"], stored["attempts"]) == ("delivered", "webhook", 1)
    assert stored["last_error"] is None


async def test_every_attempt_fails_then_the_callback_hears(store: Store) -> None:
    alert_id = await add_alert(store)
    failures: list[DeliveryResult] = []
    async with Receiver(default=503) as receiver:
        responder = await add_responder(store, channels=[webhook(receiver.url)])
        request = await pending(store, alert_id, responder)
        async with running(store, failures=failures) as notifier:
            notifier.submit([request])
            await notifier.join()
        assert len(receiver.received) == FAST.max_attempts
    ids = {r.header(DELIVERY_HEADER) for r in receiver.received}
    assert ids == {str(request.id)}  # the same delivery id on each retry
    stored = await row(store, request.id)
    assert (stored["status"], stored["attempts"]) == ("failed", FAST.max_attempts)
    assert stored["last_error"] == "webhook answered HTTP 503"
    [result] = failures
    assert result.request == request
    assert (result.status, result.channel, result.attempts) == ("failed", "webhook", 3)
    assert result.error == "webhook answered HTTP 503"


async def test_a_retry_that_succeeds_keeps_the_earlier_error(store: Store) -> None:
    alert_id = await add_alert(store)
    failures: list[DeliveryResult] = []
    async with Receiver([503]) as receiver:
        responder = await add_responder(store, channels=[webhook(receiver.url)])
        request = await pending(store, alert_id, responder)
        async with running(store, failures=failures) as notifier:
            notifier.submit([request])
            await notifier.join()
        assert len(receiver.received) == 2
    stored = await row(store, request.id)
    assert (stored["status"], stored["attempts"]) == ("delivered", 2)
    assert stored["last_error"] == "webhook answered HTTP 503"
    assert failures == []


async def test_a_refusal_is_not_retried_and_the_next_channel_delivers(store: Store) -> None:
    alert_id = await add_alert(store)
    async with Receiver(default=404) as refusing, Receiver() as apprise_receiver:
        apprise_url = f"json://127.0.0.1:{apprise_receiver.port}/push"
        responder = await add_responder(
            store, channels=[webhook(refusing.url), {"type": "apprise", "url": apprise_url}]
        )
        request = await pending(store, alert_id, responder)
        async with running(store) as notifier:
            notifier.submit([request])
            await notifier.join()
        assert len(refusing.received) == 1
        [pushed] = apprise_receiver.received
    assert pushed.path == "/push"
    stored = await row(store, request.id)
    assert (stored["status"], stored["channel"], stored["attempts"]) == ("delivered", "apprise", 2)
    assert stored["last_error"] == "webhook answered HTTP 404"


async def test_apprise_json_reaches_a_local_receiver_without_personal_data(store: Store) -> None:
    alert_id = await add_alert(store, home="H0007")
    directory = Directory(store)
    await directory.create_home("H0007", HomePatch(address="12 Secret Lane"), actor="t", now=NOW)
    await directory.create_resident(
        "H0007",
        ResidentEntry(id="P7", name="Ada Example", phone="+86 10 5555 0101"),
        actor="t",
        now=NOW,
    )
    async with Receiver() as receiver:
        responder = await add_responder(
            store, channels=[{"type": "apprise", "url": f"json://127.0.0.1:{receiver.port}/"}]
        )
        request = await pending(store, alert_id, responder, home="H0007")
        async with running(store) as notifier:
            notifier.submit([request])
            await notifier.join()
        [got] = receiver.received
    doc = json.loads(got.body)
    assert doc["title"] == "homecare P1 sos alert, home H0007"
    assert str(alert_id) in doc["message"]
    for secret in (b"Ada", b"Secret Lane", b"5555"):
        assert secret not in got.body
    assert (await row(store, request.id))["status"] == "delivered"


async def test_apprise_failure_is_retried_and_recorded(store: Store) -> None:
    alert_id = await add_alert(store)
    failures: list[DeliveryResult] = []
    async with Receiver(default=500) as receiver:
        responder = await add_responder(
            store, channels=[{"type": "apprise", "url": f"json://127.0.0.1:{receiver.port}/"}]
        )
        request = await pending(store, alert_id, responder)
        config = FAST.model_copy(update={"max_attempts": 2})
        async with running(store, config, failures=failures) as notifier:
            notifier.submit([request])
            await notifier.join()
        assert len(receiver.received) == 2
    stored = await row(store, request.id)
    assert (stored["status"], stored["channel"], stored["attempts"]) == ("failed", "apprise", 2)
    assert [f.channel for f in failures] == ["apprise"]


@pytest.mark.broker
async def test_mqtt_notification_arrives_on_the_responder_topic(
    store: Store, broker: Broker
) -> None:
    alert_id = await add_alert(store)
    responder = await add_responder(store, channels=[{"type": "mqtt"}])
    request = await pending(store, alert_id, responder)
    topic = f"homecare/v1/responders/{responder}/notifications"
    async with (
        MqttClient(
            host=broker.host, port=broker.port, client_id=f"r-{uuid.uuid4().hex[:8]}"
        ) as sub,
        MqttClient(
            host=broker.host, port=broker.port, client_id=f"b-{uuid.uuid4().hex[:8]}"
        ) as pub,
    ):
        await sub.subscribe(topic, qos=1)
        await sub.wait_subscribed()
        async with running(store, publish=pub.publish) as notifier:
            notifier.submit([request])
            await notifier.join()
        async with asyncio.timeout(10):
            message = await anext(sub.messages())
    assert message.topic == topic
    assert message.qos == 1
    doc = json.loads(message.payload)
    assert (doc["id"], doc["alert_id"], doc["recipient"]) == (
        str(request.id),
        str(alert_id),
        responder,
    )
    stored = await row(store, request.id)
    assert (stored["status"], stored["channel"]) == ("delivered", "mqtt")


async def test_mqtt_without_a_connection_fails_at_once(store: Store) -> None:
    alert_id = await add_alert(store)
    failures: list[DeliveryResult] = []
    responder = await add_responder(store, channels=[{"type": "mqtt"}])
    request = await pending(store, alert_id, responder)
    async with running(store, failures=failures) as notifier:
        notifier.submit([request])
        await notifier.join()
    stored = await row(store, request.id)
    assert (stored["status"], stored["attempts"]) == ("failed", 1)
    assert stored["last_error"] == "this backend has no MQTT connection"
    assert len(failures) == 1


async def test_role_queue_defaults_to_the_console(store: Store) -> None:
    alert_id = await add_alert(store)
    request = await pending(store, alert_id, "queue:operator")
    async with running(store) as notifier:
        notifier.submit([request])
        await notifier.join()
    stored = await row(store, request.id)
    assert (stored["status"], stored["channel"], stored["attempts"]) == ("delivered", "console", 1)


async def test_role_queue_uses_its_configured_webhook(store: Store) -> None:
    alert_id = await add_alert(store)
    async with Receiver() as receiver:
        config = NotifySettings.model_validate(
            {**FAST.model_dump(), "queues": {"supervisor": [webhook(receiver.url)]}}
        )
        request = await pending(store, alert_id, "queue:supervisor")
        async with running(store, config) as notifier:
            notifier.submit([request])
            await notifier.join()
        [got] = receiver.received
    assert verify_webhook(SECRET, got.body, got.headers, now=time.time())
    assert (await row(store, request.id))["channel"] == "webhook"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (None, "no responder {id}"),
        ({"active": False, "channels": [{"type": "mqtt"}]}, "responder {id} is inactive"),
        ({"channels": []}, "responder {id} has no notification channel"),
    ],
)
async def test_a_recipient_who_cannot_be_reached_fails_with_no_attempt(
    store: Store, fields: dict[str, Any] | None, error: str
) -> None:
    alert_id = await add_alert(store)
    failures: list[DeliveryResult] = []
    recipient = "R-nobody" if fields is None else await add_responder(store, **fields)
    request = await pending(store, alert_id, recipient)
    async with running(store, failures=failures) as notifier:
        notifier.submit([request])
        await notifier.join()
    stored = await row(store, request.id)
    assert (stored["status"], stored["attempts"], stored["channel"]) == ("failed", 0, "none")
    assert stored["last_error"] == error.format(id=recipient)
    assert [(f.status, f.attempts) for f in failures] == [("failed", 0)]


async def test_start_resumes_what_a_crash_left_pending(store: Store) -> None:
    alert_id = await add_alert(store)
    async with Receiver() as receiver:
        responder = await add_responder(store, channels=[webhook(receiver.url)])
        first = await pending(store, alert_id, responder)
        second = await pending(store, alert_id, "queue:operator")
        async with running(store) as notifier:  # start() resumes both rows
            await notifier.join()
            notifier.submit([first])  # already delivered: not sent again
            await notifier.join()
        assert len(receiver.received) == 1
    assert (await row(store, first.id))["status"] == "delivered"
    assert (await row(store, second.id))["status"] == "delivered"


async def test_a_stop_in_the_middle_leaves_the_row_pending(store: Store) -> None:
    alert_id = await add_alert(store)
    async with Receiver(default=503) as receiver:
        responder = await add_responder(store, channels=[webhook(receiver.url)])
        request = await pending(store, alert_id, responder)
        slow = FAST.model_copy(update={"backoff_s": 30.0, "backoff_max_s": 30.0})
        async with running(store, slow) as notifier:
            notifier.submit([request])
            await receiver.wait_for(1)
            async with asyncio.timeout(10):
                while (await row(store, request.id))["attempts"] == 0:  # noqa: ASYNC110 - polls the database
                    await asyncio.sleep(0.01)
        assert len(receiver.received) == 1
    stored = await row(store, request.id)
    assert stored["status"] == "pending"
    assert stored["attempts"] == 1
    assert stored["created_at"] == NOW
