"""The gateway's config: its file and environment are validated, and a problem names the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import BrokerSettings, GatewayConfig, SecretStr, load_gateway_config
from protocol.config import ConfigError

EXAMPLE = Path(__file__).parents[2] / "gateway" / "gateway.example.toml"

_BASE = """
home_id = "H0001"
[zigbee2mqtt]
[[devices]]
device_id = "door-front"
profile = "aqara_mccgq11lm"
address = "door_front"
"""


def _load(tmp_path: Path, text: str) -> GatewayConfig:
    path = tmp_path / "gw.toml"
    path.write_text(text)
    return load_gateway_config(path)


@pytest.mark.parametrize(
    ("change", "key", "fix"),
    [
        (("[zigbee2mqtt]", "colour = 1\n[zigbee2mqtt]"), "colour", "remove it"),
        (('home_id = "H0001"', ""), "home_id", "add it"),
        (('home_id = "H0001"', 'home_id = "H0001\\n"'), "home_id", "correct the value"),
        (
            ('device_id = "door-front"', 'device_id = "door front"'),
            "devices.0.device_id",
            "correct",
        ),
        (('device_id = "door-front"', 'device_id = "door\\n"'), "devices.0.device_id", "correct"),
        (("[zigbee2mqtt]", "[uplink]\nport = 0\n[zigbee2mqtt]"), "uplink.port", "correct"),
        (("[zigbee2mqtt]", "[uplink]\nsmell = 1\n[zigbee2mqtt]"), "uplink.smell", "remove it"),
        (('profile = "aqara_mccgq11lm"', 'profile = "nope"'), "unknown profile 'nope'", "correct"),
    ],
)
def test_a_bad_config_names_the_file_the_key_and_the_fix(
    tmp_path: Path, change: tuple[str, str], key: str, fix: str
) -> None:
    old, new = change
    assert old in _BASE
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, _BASE.replace(old, new))
    message = str(info.value)
    assert message.startswith(str(tmp_path / "gw.toml"))
    assert key in message
    assert f"fix: {fix}" in message


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMECARE_UPLINK__PORT", "8883")
    monkeypatch.setenv("HOMECARE_UPLINK__PASSWORD", "s3cret-pw")
    monkeypatch.setenv("HOMECARE_DATA_DIR", "/var/lib/gw")
    config = _load(tmp_path, _BASE)
    assert config.uplink.port == 8883
    assert config.uplink.password == SecretStr("s3cret-pw")
    assert config.uplink.password is not None
    assert config.uplink.password.get_secret_value() == "s3cret-pw"
    assert "s3cret-pw" not in repr(config)
    assert config.data_dir == Path("/var/lib/gw")
    monkeypatch.setenv("HOMECARE_UPLINK__PORT", "not a port")
    with pytest.raises(ConfigError, match=r"uplink\.port: .*HOMECARE_UPLINK__PORT"):
        _load(tmp_path, _BASE)


def test_dump_validate_and_copy_round_trip() -> None:
    config = load_gateway_config(EXAMPLE)
    assert GatewayConfig.model_validate(config.model_dump()) == config
    moved = config.model_copy(update={"uplink": BrokerSettings(port=1884)})
    assert moved.uplink.port == 1884
    assert moved.devices == config.devices


def test_a_config_built_in_code_still_checks_devices_against_profiles() -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        GatewayConfig.model_validate(
            {"home_id": "H1", "devices": [{"device_id": "d", "profile": "nope", "address": "a"}]}
        )
