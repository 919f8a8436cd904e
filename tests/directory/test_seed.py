"""The seed file's directory part: validation that names file, key and fix; idempotent sync."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from backend import Backend
from backend.careplan import HomeSettings, load_directory, load_seed_file
from backend.config import BackendConfig, load_backend_config
from backend.directory import DirectoryError, DirectorySeed, sync_directory
from backend.seeds import DEMO_SEED
from backend.storage import Store
from backend.storage._tables import home_responders, homes, residents, responders
from protocol.config import ConfigError
from tests.directory.conftest import seed_doc

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def write(tmp_path: Path, doc: dict[str, Any], suffix: str = ".yaml") -> Path:
    path = tmp_path / f"seed{suffix}"
    text = json.dumps(doc) if suffix == ".json" else yaml.safe_dump(doc)
    path.write_text(text, encoding="utf-8")
    return path


def directory_of(path: Path) -> DirectorySeed:
    return load_directory([], [], path)


async def snapshot(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every row of the directory tables, in key order."""
    out: dict[str, list[dict[str, Any]]] = {}
    async with store.reading() as conn:
        for table in (homes, residents, responders, home_responders):
            keys = list(table.primary_key.columns)
            result = await conn.execute(sa.select(table).order_by(*keys))
            out[table.name] = [dict(r._mapping) for r in result]
    return out


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_seed_lists_homes_residents_responders_and_contacts(tmp_path: Path, suffix: str) -> None:
    seed = load_seed_file(write(tmp_path, seed_doc(), suffix), known_responders=set())
    [h1, h2] = seed.homes
    assert (h1.label, h1.address) == ("Flat 1", "1 Test Street")
    assert [r.name for r in h1.residents] == ["Resident One"]
    assert h1.ranked_contacts() == [("R2", 5, None), ("R1", 1, "daughter")]
    assert h2.care_plan.inactivity_hours == 6
    assert [r.kind.value for r in seed.responders] == ["family", "community_worker"]
    [window] = seed.responders[1].availability or ()
    assert (window.days, window.start, window.end) == ((0, 1, 2, 3, 4), "08:00", "20:00")


def test_a_toml_seed_works_too(tmp_path: Path) -> None:
    path = tmp_path / "seed.toml"
    path.write_text(
        """
[[responders]]
id = "R1"
name = "Neighbour"
kind = "family"
channels = [{type = "mqtt"}]

[[homes]]
id = "H1"
label = "Flat 1"
contacts = [{responder_id = "R1", relation = "neighbour"}]
residents = [{id = "P1", name = "Resident One"}]
""",
        encoding="utf-8",
    )
    [home] = directory_of(path).homes
    assert home.ranked_contacts() == [("R1", 1, "neighbour")]


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


@pytest.mark.parametrize(
    ("path", "value", "key", "words"),
    [
        ("homes.0.residents.0.nickname", "Bo", "homes.0.residents.0.nickname", "Extra inputs"),
        ("homes.0.residents.0.birth_year", 1700, "homes.0.residents.0.birth_year", "1890"),
        ("homes.0.contacts.0.responder_id", "R9", "homes.0.contacts.0.responder_id", "'R9'"),
        ("homes.0.contacts.1.responder_id", "R2", "homes.0.contacts.1.responder_id", "twice"),
        ("responders.1.id", "R1", "responders.1.id", "listed twice"),
        ("responders.0.kind", "neighbour", "responders.0.kind", "family"),
        ("responders.0.channels.0.type", "pager", "responders.0.channels.0", "pager"),
        ("responders.0.channels.0.secret", "short", "responders.0.channels.0.webhook.secret", "16"),
        ("responders.0.channels.0.url", "ftp://x", "responders.0.channels.0.webhook.url", "http"),
        (
            "responders.1.channels.0.url",
            "nosuch://x",
            "responders.1.channels.0.apprise.url",
            "apprise",
        ),
        ("responders.1.availability.0.tz", "Mars/Base", "responders.1.availability.0.tz", "Mars"),
        ("responders.1.availability.0.start", "8am", "responders.1.availability.0.start", "HH:MM"),
        ("homes.1.id", "H 2", "homes.1.id", "pattern"),
        ("homes.0.residents.0.conditions", "dementia", "homes.0.residents.0.conditions", "list"),
        (
            "homes.0.residents.0.conditions",
            ["ok", " "],
            "homes.0.residents.0.conditions.1",
            "least 1",
        ),
        ("homes.0.residents.0.conditions", ["x" * 81], "homes.0.residents.0.conditions.0", "80"),
        ("homes.0.residents.0.conditions", [7], "homes.0.residents.0.conditions.0", "string"),
        ("homes.0.residents.0.conditions", ["a\nb"], "homes.0.residents.0.conditions.0", "control"),
        (
            "homes.0.residents.0.conditions",
            ["Dementia", "dementia"],
            "homes.0.residents.0.conditions",
            "'dementia' is listed twice",
        ),
        (
            "homes.0.residents.0.conditions",
            [f"condition {i}" for i in range(21)],
            "homes.0.residents.0.conditions",
            "at most 20",
        ),
    ],
)
def test_a_bad_seed_names_the_file_the_key_and_the_fix(
    tmp_path: Path, path: str, value: Any, key: str, words: str
) -> None:
    doc = seed_doc()
    _set(doc, path, value)
    seed = write(tmp_path, doc)
    with pytest.raises(ConfigError) as caught:
        directory_of(seed)
    message = str(caught.value)
    assert message.startswith(f"{seed}: {key}")
    assert words in message
    assert "fix:" in message


def test_a_resident_listed_in_two_homes_is_refused(tmp_path: Path) -> None:
    doc = seed_doc()
    doc["homes"][1]["residents"] = [{"id": "P1", "name": "Someone Else"}]
    with pytest.raises(ConfigError, match=r"homes\.1\.residents\.0\.id: resident 'P1'"):
        directory_of(write(tmp_path, doc))


def test_the_config_may_add_responders_and_contacts_to_the_seed(tmp_path: Path) -> None:
    config = BackendConfig.model_validate(
        {
            "seed_file": str(write(tmp_path, seed_doc())),
            "responders": [{"id": "R3", "name": "Neighbour", "kind": "family"}],
            "homes": [{"id": "H1", "label": "Renamed", "contacts": [{"responder_id": "R3"}]}],
        }
    )
    directory = config.directory()
    [h1, h2] = directory.homes
    assert h1.label == "Renamed"
    assert h1.address == "1 Test Street"  # kept from the seed: the config did not set it
    assert [r.id for r in h1.residents] == ["P1"]
    assert h1.ranked_contacts() == [("R3", 1, None)]
    assert [r.id for r in directory.responders] == ["R1", "R2", "R3"]
    assert h2.id == "H2"


def test_a_backend_with_a_bad_seed_does_not_start(tmp_path: Path) -> None:
    doc = seed_doc()
    doc["homes"][0]["residents"][0]["phone"] = "call me"
    seed = write(tmp_path, doc)
    config_file = tmp_path / "backend.toml"
    config_file.write_text(f'demo = true\nseed_file = "{seed.name}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"homes\.0\.residents\.0\.phone"):
        load_backend_config(config_file)
    with pytest.raises(ConfigError, match=str(seed)):
        Backend(BackendConfig(demo=True, seed_file=seed))


async def test_sync_adds_then_a_rerun_writes_nothing(store: Store, tmp_path: Path) -> None:
    directory = directory_of(write(tmp_path, seed_doc()))
    first = await sync_directory(store, directory, NOW)
    assert first.added == {"responders": 2, "homes": 2, "residents": 1, "home_responders": 2}
    assert first.changed == {}
    before = await snapshot(store)
    again = await sync_directory(store, directory, NOW + timedelta(hours=1))
    assert again.writes == 0
    assert await snapshot(store) == before
    [r1, r2] = before["responders"]
    assert r1["channels"][0] == {
        "type": "webhook",
        "url": "https://hooks.example.org/r1",
        "secret": "x" * 24,
    }
    assert r2["availability"] == [
        {"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "20:00", "tz": "Asia/Shanghai"}
    ]
    assert [(c["home"], c["responder_id"], c["rank"]) for c in before["home_responders"]] == [
        ("H1", "R1", 1),
        ("H1", "R2", 5),
    ]
    assert before["homes"][1]["label"] is None


async def test_sync_changes_only_what_differs_and_deletes_nothing(
    store: Store, tmp_path: Path
) -> None:
    await sync_directory(store, directory_of(write(tmp_path, seed_doc())), NOW)
    before = await snapshot(store)
    doc = seed_doc()
    doc["homes"][0]["residents"][0]["notes"] = "Prefers a call before a visit."
    doc["homes"][0]["contacts"] = [{"responder_id": "R1", "rank": 2, "relation": "daughter"}]
    del doc["homes"][0]["label"]  # not given: left as it is
    report = await sync_directory(store, directory_of(write(tmp_path, doc)), NOW)
    assert report.added == {}
    assert report.changed == {"residents": 1, "home_responders": 1}
    after = await snapshot(store)
    assert after["homes"] == before["homes"]
    assert after["residents"][0]["notes"] == "Prefers a call before a visit."
    assert after["residents"][0]["created_at"] == before["residents"][0]["created_at"]
    # R2 is no longer listed for H1 but stays: the seed adds and updates, never deletes.
    assert [(c["responder_id"], c["rank"]) for c in after["home_responders"]] == [
        ("R1", 2),
        ("R2", 5),
    ]


async def test_a_contact_unknown_to_seed_and_database_stops_the_sync(store: Store) -> None:
    home = HomeSettings.model_validate({"id": "H1", "contacts": [{"responder_id": "R404"}]})
    with pytest.raises(DirectoryError, match="R404"):
        await sync_directory(store, DirectorySeed(homes=(home,)), NOW)
    assert (await snapshot(store))["homes"] == []  # one transaction: nothing was written


async def test_the_demo_seed_loads_and_syncs(store: Store) -> None:
    directory = directory_of(DEMO_SEED)
    report = await sync_directory(store, directory, NOW)
    assert report.added["homes"] == 3
    assert report.added["residents"] == 4
    assert (await sync_directory(store, directory, NOW)).writes == 0


async def test_a_seeded_community_is_stored_and_kept_when_not_given(
    store: Store, tmp_path: Path
) -> None:
    doc = seed_doc()
    doc["homes"][0]["community"] = "Riverside"
    await sync_directory(store, directory_of(write(tmp_path, doc)), NOW)
    del doc["homes"][0]["community"]  # not given: left as it is
    again = await sync_directory(store, directory_of(write(tmp_path, doc)), NOW)
    assert again.writes == 0
    stored = await snapshot(store)
    assert [(h["id"], h["community"]) for h in stored["homes"]] == [
        ("H1", "Riverside"),
        ("H2", None),
    ]
    demo = load_seed_file(DEMO_SEED)
    assert {h.community for h in demo.homes} == {"Riverside", "Garden Lane"}


async def test_seeded_conditions_are_stored_in_order_and_default_to_none(
    store: Store, tmp_path: Path
) -> None:
    doc = seed_doc()
    doc["homes"][1]["residents"] = [{"id": "P2", "name": "Resident Two"}]
    conditions = [" hypertension", "uses a wheelchair", "x" * 80] + [f"c{i}" for i in range(17)]
    doc["homes"][0]["residents"][0]["conditions"] = conditions
    await sync_directory(store, directory_of(write(tmp_path, doc)), NOW)
    stored = {r["id"]: r["conditions"] for r in (await snapshot(store))["residents"]}
    assert stored == {"P1": [c.strip() for c in conditions], "P2": []}
    assert (await sync_directory(store, directory_of(write(tmp_path, doc)), NOW)).writes == 0
    doc["homes"][0]["residents"][0]["conditions"] = ["dementia"]
    changed = await sync_directory(store, directory_of(write(tmp_path, doc)), NOW)
    assert changed.changed == {"residents": 1}
    stored = {r["id"]: r["conditions"] for r in (await snapshot(store))["residents"]}
    assert stored == {"P1": ["dementia"], "P2": []}
    demo = load_seed_file(DEMO_SEED)
    assert all(r.conditions for h in demo.homes for r in h.residents)
