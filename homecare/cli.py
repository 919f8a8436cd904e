"""The ``homecare`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from protocol.config import ConfigError

__all__ = ["main"]


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Migrations are routine at every start; show them only when debugging.
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="homecare", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="run a backend, simulated homes and gateways, no setup needed"
    )
    demo.add_argument("--homes", type=int, default=3, help="number of simulated homes (default 3)")
    demo.add_argument("--api-port", type=int, default=8080, help="API port on 127.0.0.1 (0: any)")
    demo.add_argument("--data-dir", type=Path, default=None, help="keep state here (default: temp)")
    demo.add_argument(
        "--exit-when-done", action="store_true", help="stop after the scripted incidents"
    )
    demo.add_argument(
        "--broker",
        choices=["auto", "mosquitto", "embedded"],
        default="auto",
        help="private mosquitto if installed (auto), or the embedded amqtt broker",
    )

    gw = sub.add_parser("gateway", help="run a home gateway, or list its devices")
    gw.add_argument(
        "action",
        nargs="?",
        choices=["run", "devices"],
        default="run",
        help="run (default), or devices: each device's health, state and verdict",
    )
    gw.add_argument("--config", type=Path, required=True, help="gateway TOML file")
    gw.add_argument("--json", action="store_true", help="devices: print JSON instead of a table")

    be = sub.add_parser("backend", help="run the backend, or add an operator account")
    be.add_argument(
        "action",
        nargs="?",
        choices=["run", "create-user"],
        default="run",
        help="run (default), or create-user: add an account, such as the first admin",
    )
    be.add_argument("--config", type=Path, required=True, help="backend TOML file")
    be.add_argument("--username", help="create-user: the login name")
    be.add_argument(
        "--role",
        choices=["operator", "supervisor", "admin"],
        default="operator",
        help="create-user: the role (default operator)",
    )
    be.add_argument("--display-name", help="create-user: the name shown (default: the username)")
    be.add_argument(
        "--password-stdin",
        action="store_true",
        help="create-user: read the password from stdin instead of prompting",
    )

    sim = sub.add_parser("simulate", help="drive simulated homes against a real gateway")
    sim.add_argument("--broker", default="127.0.0.1:1883", help="Zigbee2MQTT broker host:port")
    sim.add_argument("--home", default="H0001", help="home id of the simulated home")
    sim.add_argument("--base-topic", default="zigbee2mqtt", help="Zigbee2MQTT base topic")
    sim.add_argument(
        "--scenario",
        choices=["sos", "smoke", "gas", "door", "pendant"],
        action="append",
        help="incident to inject (repeatable); without it the resident just lives",
    )
    sim.add_argument("--write-config", type=Path, help="write the matching gateway TOML here")
    sim.add_argument("--duration", type=float, default=0, help="seconds to run (0: until Ctrl-C)")

    prov = sub.add_parser(
        "provision", help="create or replace a home's broker credential and ACL rules"
    )
    prov.add_argument("home", nargs="?", help="home id (omit with --backend)")
    prov.add_argument("--passwd-file", type=Path, required=True, help="mosquitto password_file")
    prov.add_argument("--acl-file", type=Path, required=True, help="mosquitto acl_file")
    prov.add_argument(
        "--password-out", type=Path, help="write the new password here (0600) instead of printing"
    )
    prov.add_argument("--backend", action="store_true", help="provision the backend's user")
    prov.add_argument("--backend-user", default="homecare-backend", help="the backend's user")

    rp = sub.add_parser("replay", help="run the detectors over recorded events, in event time")
    rp.add_argument("events", type=Path, help="event envelopes, one JSON object per line")
    rp.add_argument(
        "--care-plans",
        type=Path,
        default=None,
        help="seed file (.toml, .json or .yaml): default_care_plan and [[homes]] with care_plan",
    )
    rp.add_argument(
        "--until", default=None, help="fire deadlines up to this time (RFC 3339, with a zone)"
    )
    rp.add_argument("--out", type=Path, default=None, help="write alerts here (default: stdout)")

    bench = sub.add_parser("bench", help="run benchmarks and print figures")
    bench.add_argument("name", nargs="?", default="all", help="benchmark name, or 'all'")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return asyncio.run(_dispatch(args))
    except ConfigError as err:
        print(f"homecare: configuration error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _dispatch(args: argparse.Namespace) -> int:
    command: str = args.command
    if command == "demo":
        from homecare.demo import DemoOptions, run_demo  # noqa: PLC0415 - keep start-up light

        return await run_demo(
            DemoOptions(
                homes=args.homes,
                api_port=args.api_port,
                data_dir=args.data_dir,
                exit_when_done=args.exit_when_done,
                broker=args.broker,
            )
        )
    if command == "gateway" and args.action == "devices":
        from homecare.devices import run_devices  # noqa: PLC0415

        return run_devices(args.config, as_json=args.json)
    if command == "gateway":
        from gateway.app import run_gateway  # noqa: PLC0415
        from gateway.config import load_gateway_config  # noqa: PLC0415

        await run_gateway(load_gateway_config(args.config))
        return 0
    if command == "backend" and args.action == "create-user":
        from homecare.accounts import run_create_user  # noqa: PLC0415

        return await run_create_user(args)
    if command == "backend":
        from backend.app import run_backend  # noqa: PLC0415
        from backend.config import load_backend_config  # noqa: PLC0415

        await run_backend(load_backend_config(args.config))
        return 0
    if command == "simulate":
        from homecare.simulate import run_simulate  # noqa: PLC0415

        return await run_simulate(args)
    if command == "provision":
        return _provision(args)
    if command == "replay":
        from homecare.replay import run_replay  # noqa: PLC0415

        return run_replay(args)
    if command == "bench":
        from bench.__main__ import run as run_bench  # noqa: PLC0415

        return await asyncio.to_thread(run_bench, [args.name])
    raise AssertionError(command)  # argparse guarantees one of the above


def _provision(args: argparse.Namespace) -> int:
    from homecare import provision  # noqa: PLC0415

    try:
        if args.backend:
            cred = provision.provision_backend(
                passwd_file=args.passwd_file,
                acl_file=args.acl_file,
                backend_user=args.backend_user,
            )
        elif args.home:
            cred = provision.provision_home(
                args.home,
                passwd_file=args.passwd_file,
                acl_file=args.acl_file,
                backend_user=args.backend_user,
            )
        else:
            print("homecare provision: name a home id, or give --backend", file=sys.stderr)
            return 2
        if args.password_out is not None:
            provision.write_secret(args.password_out, cred.password)
            print(f"user {cred.username}: password written to {args.password_out}")
        else:
            print(f"user {cred.username}")
            print(f"password {cred.password}")
            print("(shown once; reload mosquitto with SIGHUP to apply)")
    except provision.ProvisionError as err:
        print(f"homecare provision: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
