"""Provisioning: password-file and ACL entries that a real mosquitto accepts and enforces."""

from __future__ import annotations

import asyncio
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homecare.cli import main
from homecare.provision import (
    ProvisionError,
    _replace_block,
    _replace_entry,
    acl_block,
    hash_password,
    provision_backend,
    provision_home,
    verify_password,
)
from protocol.mqtt import MqttClient, MqttConnectError, PublishRefusedError
from tests.brokers import Broker, running_broker


def test_hash_uses_mosquittos_pbkdf2_format() -> None:
    encoded = hash_password("s3cret", salt=bytes(range(12)))
    assert encoded.startswith("$7$101$AAECAwQFBgcICQoL$")
    assert verify_password("s3cret", encoded)
    assert not verify_password("s3cres", encoded)
    assert not verify_password("s3cret", "$6$x$y")
    assert not verify_password("s3cret", "garbage")


def test_provisioning_is_idempotent_and_keeps_other_entries(tmp_path: Path) -> None:
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    passwd.write_text("operator:$7$101$abc$def\n")
    passwd.chmod(0o640)
    acl.write_text("user operator\ntopic readwrite ops/#\n")
    first = provision_home("H0001", passwd_file=passwd, acl_file=acl)
    provision_home("H0002", passwd_file=passwd, acl_file=acl)
    again = provision_home("H0001", passwd_file=passwd, acl_file=acl)
    assert first.username == again.username == "gw-H0001"
    assert first.password != again.password
    entries = dict(line.split(":", 1) for line in passwd.read_text().splitlines())
    assert set(entries) == {"operator", "gw-H0001", "gw-H0002"}
    assert verify_password(again.password, entries["gw-H0001"])
    assert not verify_password(first.password, entries["gw-H0001"])
    text = acl.read_text()
    assert text.startswith("user operator\ntopic readwrite ops/#\n")
    assert text.count("# BEGIN homecare gw-H0001") == 1
    assert text.count("# BEGIN homecare homecare-backend") == 1
    assert acl_block("H0001") in text
    assert "topic read homecare/v1/+/events" in text
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o640  # an existing file keeps its mode


def test_a_new_password_file_is_private(tmp_path: Path) -> None:
    passwd = tmp_path / "etc" / "passwd"
    provision_home("H0001", passwd_file=passwd, acl_file=tmp_path / "etc" / "acl")
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o600


def test_bad_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ProvisionError, match="bad home id"):
        provision_home("H 1/#", passwd_file=tmp_path / "p", acl_file=tmp_path / "a")
    with pytest.raises(ProvisionError, match="bad user name"):
        provision_backend(passwd_file=tmp_path / "p", acl_file=tmp_path / "a", backend_user="a:b")
    assert not (tmp_path / "p").exists()


def test_the_command_writes_the_password_to_a_private_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gw.secret"
    out.write_text("old\n")
    out.chmod(0o644)
    code = main(
        [
            "provision",
            "H0001",
            "--passwd-file",
            str(tmp_path / "passwd"),
            "--acl-file",
            str(tmp_path / "acl"),
            "--password-out",
            str(out),
        ]
    )
    assert code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    password = out.read_text().strip()
    assert password not in capsys.readouterr().out
    (entry,) = (tmp_path / "passwd").read_text().splitlines()
    assert verify_password(password, entry.split(":", 1)[1])


def test_the_command_prints_the_password_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--passwd-file", str(tmp_path / "p"), "--acl-file", str(tmp_path / "a")]
    assert main(["provision", "--backend", *args]) == 0
    printed = capsys.readouterr().out
    assert "user homecare-backend" in printed
    password = printed.split("password ", 1)[1].split()[0]
    (entry,) = (tmp_path / "p").read_text().splitlines()
    assert verify_password(password, entry.split(":", 1)[1])
    assert main(["provision", *args]) == 2


def _broker_config(passwd: Path, acl: Path) -> str:
    return f"allow_anonymous false\npassword_file {passwd}\nacl_file {acl}\nlog_type all\n"


def _client(broker: Broker, username: str, password: str, **kw: object) -> MqttClient:
    return MqttClient(
        host=broker.host,
        port=broker.port,
        username=username,
        password=password,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.broker
async def test_a_real_mosquitto_accepts_the_entries_and_enforces_the_acl(tmp_path: Path) -> None:
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    gw1 = provision_home("H0001", passwd_file=passwd, acl_file=acl)
    gw2 = provision_home("H0002", passwd_file=passwd, acl_file=acl)
    backend = provision_backend(passwd_file=passwd, acl_file=acl)
    with running_broker(tmp_path / "b", extra_config=_broker_config(passwd, acl)) as broker:
        with pytest.raises(MqttConnectError, match=r"Not authorized|Bad user name"):
            await _client(broker, gw1.username, gw2.password).connect(timeout_s=2)
        with pytest.raises(MqttConnectError):
            await MqttClient(host=broker.host, port=broker.port).connect(timeout_s=2)

        be = _client(
            broker,
            backend.username,
            backend.password,
            subscriptions=[("homecare/v1/+/events", 1), ("homecare/v1/+/status", 1)],
        )
        async with be, _client(broker, gw1.username, gw1.password) as one:
            await be.wait_subscribed()
            await one.publish("homecare/v1/H0001/events", b"[]", qos=1)
            await one.publish("homecare/v1/H0001/status", b'{"online": true}', qos=1)
            for topic in (
                "homecare/v1/H0002/events",
                "homecare/v1/H0001/commands",
                "homecare/v1/H0001/other",
                "homecare/v1/responders/R1/notifications",
            ):
                with pytest.raises(PublishRefusedError) as refused:
                    await one.publish(topic, b"[]", qos=1)
                assert refused.value.code == 135
            # The backend may command any home; a gateway reads only its own commands.
            listener = _client(
                broker,
                gw2.username,
                gw2.password,
                subscriptions=[("homecare/v1/H0002/commands", 1)],
            )
            async with listener:
                await listener.wait_subscribed()
                await be.publish("homecare/v1/H0002/commands", b'{"id": "1"}', qos=1)
                async with asyncio.timeout(5):
                    got = await anext(listener.messages())
                assert got.topic == "homecare/v1/H0002/commands"
            # The backend notifies responders on their own topics (no one listens here).
            reason = await be.publish("homecare/v1/responders/R1/notifications", b"{}", qos=1)
            assert reason < 0x80
            with pytest.raises(PublishRefusedError):
                await be.publish("homecare/v1/H0001/events", b"[]", qos=1)
            async with asyncio.timeout(5):
                received = [await anext(be.messages()) for _ in range(2)]
            assert [m.topic for m in received] == [
                "homecare/v1/H0001/events",
                "homecare/v1/H0001/status",
            ]

        # Re-provisioning replaces the password; a SIGHUP makes mosquitto reload it.
        renewed = provision_home("H0001", passwd_file=passwd, acl_file=acl)
        assert broker.process is not None
        broker.process.send_signal(1)
        await asyncio.sleep(0.5)
        async with _client(broker, renewed.username, renewed.password):
            pass
        with pytest.raises(MqttConnectError):
            await _client(broker, gw1.username, gw1.password).connect(timeout_s=2)


def test_mosquitto_passwd_reads_our_entries(tmp_path: Path) -> None:
    """The reference tool accepts our file: it rewrites one user and keeps ours intact."""
    passwd = tmp_path / "passwd"
    provision_home("H0001", passwd_file=passwd, acl_file=tmp_path / "acl")
    ours = passwd.read_text()
    tool = "/usr/bin/mosquitto_passwd"
    if not Path(tool).exists():
        pytest.skip("mosquitto_passwd is not installed")
    subprocess.run([tool, "-b", str(passwd), "other", "pw"], check=True, timeout=10)
    assert passwd.read_text().startswith(ours)


_LINES = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40).filter(
        lambda line: (
            not line.strip().startswith("# BEGIN homecare")
            and not line.strip().startswith("# END homecare")
        )
    ),
    max_size=8,
)


@settings(max_examples=100, deadline=None)
@given(lines=_LINES)
def test_acl_rewrites_keep_foreign_lines_and_are_idempotent(lines: list[str]) -> None:
    text = "\n".join(lines)
    once = _replace_block(text, "gw-H0001", acl_block("H0001"))
    twice = _replace_block(once, "gw-H0001", acl_block("H0001"))
    assert once == twice
    kept = [line for line in lines if line.strip()]
    assert [line for line in once.splitlines() if line.strip()][: len(kept)] == kept
    assert once.count("# BEGIN homecare gw-H0001") == 1


@settings(max_examples=100, deadline=None)
@given(
    users=st.lists(st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True), max_size=6),
)
def test_password_entries_are_replaced_not_repeated(users: list[str]) -> None:
    text = "".join(f"{u}:$7$101$x$y\n" for u in users)
    out = _replace_entry(_replace_entry(text, "gw-H1", "$7$1$a$b"), "gw-H1", "$7$1$c$d")
    names = [line.split(":", 1)[0] for line in out.splitlines()]
    assert names.count("gw-H1") == 1
    assert out.endswith("gw-H1:$7$1$c$d\n")
    assert [n for n in names if n != "gw-H1"] == [u for u in users if u != "gw-H1"]
