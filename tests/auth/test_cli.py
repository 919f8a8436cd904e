"""``homecare backend create-user`` in a subprocess, then a login as that user."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend import Backend
from backend.config import load_backend_config
from backend.storage._tables import audit_log
from tests.backend.conftest import SECRET_KEY, api_client, bearer, login
from tests.brokers import Broker

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "ochre-zebra-99-quilt"


def create_user(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    # The suite's own HOMECARE_TEST_... variable would read as an unknown config key.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMECARE_")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "homecare.cli",
            "backend",
            "create-user",
            "--config",
            str(config),
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


async def test_create_user_makes_the_first_admin(
    broker: Broker, fresh_database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "backend.toml"
    config.write_text(
        f'database_url = "{fresh_database_url}"\n'
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'client_id = "cli-{uuid.uuid4().hex[:8]}"\n'
        "[api]\nport = 0\n"
        f'[auth]\nsecret_key = "{SECRET_KEY}"\n'
    )
    made = create_user(
        config,
        "--username",
        "chief",
        "--role",
        "admin",
        "--display-name",
        "Chief",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout == "created user chief (admin)\n"
    assert PASSWORD not in made.stdout + made.stderr

    again = create_user(config, "--username", "chief", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 1
    assert "exists already" in again.stderr
    weak = create_user(config, "--username", "deputy", "--password-stdin", stdin="short\n")
    assert weak.returncode == 1
    assert "at least 12 characters" in weak.stderr
    bad_name = create_user(config, "--username", "Deputy Dawg", "--password-stdin", stdin=PASSWORD)
    assert bad_name.returncode == 1
    assert "username" in bad_name.stderr
    no_key = tmp_path / "nokey.toml"
    no_key.write_text(f'database_url = "{fresh_database_url}"\n')
    refused = create_user(no_key, "--username", "deputy", "--password-stdin", stdin=PASSWORD)
    assert refused.returncode == 2
    assert "auth.secret_key" in refused.stderr

    # No service token is configured: only the new admin can get in.
    async with Backend(load_backend_config(config)) as backend:
        assert backend.api_token is None
        async with api_client(backend) as client:
            token = bearer(await login(client, "chief", PASSWORD))
            me = (await client.get("/auth/me", headers=token)).json()
            assert (me["username"], me["role"], me["display_name"]) == ("chief", "admin", "Chief")
            users = (await client.get("/users", headers=token)).json()
            assert [u["username"] for u in users["items"]] == ["chief"]
        async with backend.store.reading() as conn:
            rows = (await conn.execute(sa.select(audit_log).order_by(audit_log.c.id))).all()
    assert [r.action for r in rows] == ["user_created", "login"]
    assert rows[0].actor.startswith("cli")
    assert rows[0].subject_id == "chief"
