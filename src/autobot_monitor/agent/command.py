"""``autobot-monitor agent``: a collection agent serving /metrics and /api/v1/snapshot.

Exit codes: 2 for bad flags, an unusable token or peers file, a refused listen address (beyond
loopback without a token), a missing TLS file or an unknown collector; 1 when the port is busy or
the server fails to start (an unreadable TLS key...). The collectors, mesh and web app are
imported only once the flags are checked.
"""

from __future__ import annotations

import argparse
import os
import socket
from typing import Any

from .. import cliargs
from ..cmdline import fail
from ..errors import MonitorError
from ..serve import bind, is_loopback, make_server, oserror, run_loop


def add_parser(sub: Any) -> None:
    """The ``agent`` subcommand on ``sub`` (an argparse subparsers action)."""
    s = sub.add_parser("agent", help="run a collection agent serving /metrics")
    s.add_argument("--listen", type=cliargs.listen, default=("127.0.0.1", 9100),
                   help="HOST:PORT (default 127.0.0.1:9100)")
    s.add_argument("--interval", type=cliargs.seconds, default=5.0, help="seconds between collections")
    s.add_argument("--timeout", type=cliargs.seconds, default=5.0, help="per-collector timeout, seconds")
    s.add_argument("--path.procfs", dest="procfs", default="/proc")
    s.add_argument("--path.sysfs", dest="sysfs", default="/sys")
    s.add_argument("--path.rootfs", dest="rootfs", default="/")
    s.add_argument("--collector.disable", dest="disable", action="append", metavar="NAME")
    s.add_argument("--collector.enable", dest="enable", action="append", metavar="NAME",
                   help="run only these collectors (repeatable)")
    s.add_argument("--collector.textfile.directory", dest="textfile_directory", metavar="DIR",
                   help="read metrics from the *.prom files of DIR (a glob works; written by "
                        "rename, as for node_exporter); default: none")
    s.add_argument("--insecure", action="store_true",
                   help="allow listening beyond loopback without a token")
    s.add_argument("--token-file", help="file whose first line is the bearer token required on "
                   "/metrics and /api/* (default: $AUTOBOT_AGENT_TOKEN)")
    s.add_argument("--tls-cert", help="PEM certificate: serve HTTPS (with --tls-key)")
    s.add_argument("--tls-key", help="PEM private key for --tls-cert")
    s.add_argument("--name", help="this host's inventory name (default: hostname)")
    s.add_argument("--peer", action="append", metavar="NAME=HOST:PORT",
                   help="peer agent to probe for the latency mesh (repeatable)")
    s.add_argument("--peers-file", help="NAME=HOST:PORT lines, or the hub's YAML config (its "
                   "hosts: become the peers, this host excluded by --name or --listen)")
    s.add_argument("--mesh-interval", type=cliargs.seconds, default=5.0, help="seconds between mesh probes")
    s.add_argument("--mesh-timeout", type=cliargs.seconds, default=1.0, help="seconds before a probe is lost")
    s.add_argument("--mesh-window", type=cliargs.count(2), default=60, help="probes kept per peer and method")
    s.add_argument("--no-icmp", dest="mesh_icmp", action="store_false",
                   help="probe peers by TCP connect only")
    s.add_argument("--peer-ca", help="CA file to verify peers' HTTPS for throughput tests")
    s.add_argument("--log-level", default="INFO")
    s.add_argument("--nvml-replay", metavar="FILE",
                   help="answer NVML calls from a recording (bench/record_nvml.py) instead of the "
                        "driver: for tests and demos on machines without a GPU")
    s.set_defaults(func=cmd_agent)


def cmd_agent(args: argparse.Namespace) -> int:
    """Check the flags, build the collectors, serve until SIGTERM/SIGINT; the exit code."""
    import logging

    from .throughput import ThroughputService

    checked = _check_flags(args)
    if isinstance(checked, int):
        return checked
    token, peers = checked
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runner = _runner(args)
    if isinstance(runner, int):
        return runner
    host, port = args.listen
    scheme = "https" if args.tls_cert else "http"
    tput = ThroughputService({p.name: p.address for p in peers}, token, scheme,
                             args.peer_ca or True)
    sock = bind(host, port)
    logging.getLogger("autobot_monitor").info(
        "agent on %s://%s:%s every %ss, %d peer(s), token %s", scheme, host, port, args.interval,
        len(peers), "required" if token else "off")
    try:
        run_loop(_serve(args, sock, runner, token, peers, tput))
    except (OSError, MonitorError) as e:  # start-up failures (unreadable TLS key...): one line
        return fail(f"agent stopped: {oserror(e) if isinstance(e, OSError) else e}", 1)
    return 0


def _runner(args: argparse.Namespace) -> Any:
    """The collector runner the flags ask for (``--nvml-replay``: recorded NVML answers through
    the same collector code path), or exit code 2 after the message for an unusable recording."""
    from ..collectors import build
    from ..collectors.base import CollectorContext
    from ..collectors.runner import CollectorRunner

    nvml = None
    if args.nvml_replay:
        from ..collectors.nvml_replay import NvmlReplay

        try:
            nvml = NvmlReplay.load(args.nvml_replay)
        except (OSError, ValueError) as e:
            return fail(f"--nvml-replay {args.nvml_replay}: {e}")
    options = {"textfile": {"directory": args.textfile_directory}} if args.textfile_directory else {}
    ctx = CollectorContext(procfs=args.procfs, sysfs=args.sysfs, rootfs=args.rootfs, nvml=nvml,
                           options=options)
    return CollectorRunner(build(ctx, args.enable, args.disable), timeout=args.timeout)


def _check_flags(args: argparse.Namespace) -> tuple[str | None, list[Any]] | int:
    """``(token, peers)`` when the flags can be served, else the exit code after the message."""
    from ..collectors import REGISTRY
    from .mesh import load_peers_file, parse_peer

    host, port = args.listen
    try:
        token = agent_token(args.token_file)
        peers = [parse_peer(p) for p in args.peer or []]
        if args.peers_file:
            peers += load_peers_file(args.peers_file, args.name or socket.gethostname(),
                                     f"{host}:{port}")
    except (OSError, ValueError) as e:
        return fail(str(e))
    if not is_loopback(host) and not token and not args.insecure:
        return fail(f"refusing to listen on {host} beyond loopback without a token "
                    "(--token-file or $AUTOBOT_AGENT_TOKEN); pass --insecure to do it anyway")
    if bool(args.tls_cert) != bool(args.tls_key):
        return fail("--tls-cert and --tls-key go together")
    for flag, value in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key),
                        ("--peer-ca", args.peer_ca)):
        if value and not os.path.isfile(value):
            return fail(f"{flag}: no such file {value}")
    for n in (args.disable or []) + (args.enable or []):
        if n not in REGISTRY:
            return fail(f"unknown collector {n!r} (known: {', '.join(REGISTRY)})")
    return token, peers


async def _serve(args: argparse.Namespace, sock: socket.socket, runner: Any, token: str | None,
                 peers: list[Any], tput: Any) -> None:
    """Serve the agent app on ``sock`` until a shutdown signal. Raises ``OSError`` for unusable
    TLS files."""
    from .app import KEEP_ALIVE_SECONDS, Agent, create_agent_app
    from .mesh import Mesh

    tls = {"ssl_certfile": args.tls_cert, "ssl_keyfile": args.tls_key} if args.tls_cert else {}
    mesh = Mesh(peers, args.mesh_interval, args.mesh_timeout, args.mesh_window,
                icmp=None if args.mesh_icmp else False) if peers else None
    agent = Agent(runner, interval=args.interval, hostname=args.name, mesh=mesh)
    await make_server(create_agent_app(agent, token, tput), timeout_keep_alive=KEEP_ALIVE_SECONDS,
                      **tls).serve(sockets=[sock])


def agent_token(path: str | None) -> str | None:
    """The agent's bearer token: the first line of ``path``, else ``$AUTOBOT_AGENT_TOKEN``, else
    None. Raises ``ValueError`` for an empty token file, ``OSError`` for an unreadable one."""
    if path:
        with open(path, encoding="utf-8") as f:
            token = f.readline().strip()
        if not token:
            raise ValueError(f"{path}: empty token file")
        return token
    return os.environ.get("AUTOBOT_AGENT_TOKEN", "").strip() or None
