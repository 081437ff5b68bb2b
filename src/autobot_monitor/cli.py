"""Command line: ``autobot-monitor {start,stop,agent,status,check-config}``.

The legacy spellings ``--start``, ``--stop``, ``--status``, ``--dashboard-only``,
``--benchmark TYPE`` and ``--optimize-once`` map onto these. Exit codes: 0 ok, 1 runtime failure,
2 bad usage or bad configuration (message ``FILE:LINE: key.path: problem``, no traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import signal
import socket
import sys
import time

from . import __version__, cliargs
from .cmdline import (
    PID_FILE,
    add_token_args,
    fail,
    find_and_load_config,
    pid_alive,
    read_pid,
    resolve_client_token,
)
from .errors import ConfigError, MonitorError

DEFAULT_URL = "http://127.0.0.1:9090"
LEGACY = {"--start": "start", "--stop": "stop", "--status": "status"}
NOT_YET = {"--dashboard-only": "a dashboard-only process (the dashboard is served by the hub: "
                              "`autobot-monitor start`, then open http://127.0.0.1:9090/)"}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _split_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(
            f"expected HOST:PORT with PORT in 1-65535, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves so a busy port is a clear error, not a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets when proto is
    # IPPROTO_TCP; without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise SystemExit(fail(f"cannot listen on {host}:{port}: {e.strerror}", 1)) from None
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _make_server(app, **kw):
    """A uvicorn server whose shutdown we drive: SIGTERM/SIGINT set ``should_exit`` through the
    event loop, and uvicorn's own handlers (which re-raise the signal after serving, killing the
    process before our cleanup runs) are not installed. Its housekeeping loop ticks once a second
    instead of ten times (uvicorn's default costs ~7 ms CPU per second on an idle VM) and wakes at
    once on a shutdown signal. Request heads are bounded and HEAD is answered as GET without
    the body (:mod:`.httpserver`)."""
    import contextlib

    import uvicorn

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            yield

        async def main_loop(self) -> None:
            counter = 0
            should_exit = await self.on_tick(counter)
            while not should_exit:
                counter = (counter + 10) % 864000  # on_tick does its per-second work at % 10
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), 1.0)
                should_exit = await self.on_tick(counter)

    kw.setdefault("proxy_headers", False)  # uvicorn's default trusts X-Forwarded-* from 127.0.0.1
    from .httpserver import HeadAsGet, protocol_settings

    # request heads bounded (431 past 64 KiB), HEAD answered wherever GET is
    http = kw.pop("http", None)  # a protocol class to put the head limit on (default httptools)
    server = _Server(uvicorn.Config(HeadAsGet(app), log_config=None, access_log=False,
                                    **protocol_settings(http if isinstance(http, type) else None),
                                    **kw))
    wake = asyncio.Event()

    def _exit() -> None:
        server.should_exit = True
        wake.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _exit)
    return server


def _run_loop(coro) -> None:
    """Run the server's event loop: uvloop (a libuv loop, about 1.6x less CPU per request here,
    see docs/BENCHMARKS.md) when installed, else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    uvloop.run(coro)


def _load_or_report(path: str | None):
    """:func:`~.cmdline.find_and_load_config`, or None after printing each ``FILE:LINE: key:
    problem`` to stderr."""
    try:
        return find_and_load_config(path)
    except ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return None


# -- start / stop ----------------------------------------------------------------------------
def cmd_start(args: argparse.Namespace) -> int:
    loaded = _load_or_report(args.config)
    if loaded is None:
        return 2
    cfg, path = loaded
    host = args.host or cfg.dashboard_host
    port = args.port if args.port is not None else cfg.dashboard_port
    try:  # tokens from the environment and the TLS files must be there before binding
        from .web.auth import resolve_tokens

        tokens = resolve_tokens(cfg.auth)
        tls = _hub_tls(cfg, path)
    except ConfigError as e:
        return fail("\n".join(e.problems))
    if not _is_loopback(host) and not tokens and not args.insecure:
        return fail(f"refusing to listen on {host} beyond loopback without access control; "
                    "configure auth.tokens (autobot-monitor hash-token) or pass --insecure")
    data_dir = os.path.abspath(args.data_dir)
    pid_path = os.path.join(data_dir, PID_FILE)
    other = read_pid(pid_path)
    if other and pid_alive(other):
        return fail(f"a hub is already running with pid {other} ({pid_path})", 1)
    from .logs import setup_logging, stop_logging

    try:
        os.makedirs(data_dir, exist_ok=True)
        sock = _bind(host, port)
        listener = setup_logging(cfg.logging, data_dir)
    except OSError as e:
        return fail(f"cannot use data directory {data_dir}: {_oserror(e)}", 1)
    try:
        with open(pid_path, "w") as f:
            f.write(f"{os.getpid()}\n")
        _run_loop(_serve_hub(cfg, path, data_dir, sock, tls, host))
    except (OSError, MonitorError) as e:  # start-up failures (store in use, disk...): one line
        return fail(f"hub stopped: {_oserror(e) if isinstance(e, OSError) else e}", 1)
    finally:
        stop_logging(listener)
        if read_pid(pid_path) == os.getpid():
            os.unlink(pid_path)
    return 0


def _oserror(e: OSError) -> str:
    """``strerror: filename`` of an OSError (no errno prefix, no traceback)."""
    import ssl

    if isinstance(e, ssl.SSLError):
        return f"TLS certificate or key not usable ({e.reason or e})"
    where = f": {e.filename}" if e.filename else ""
    return f"{e.strerror or e}{where}"


def _hub_tls(cfg, config_path: str | None) -> dict:
    """uvicorn's ``ssl_*`` arguments from ``cfg.tls`` (paths relative to the config file's
    directory); ``{}`` without TLS. Raises :class:`ConfigError` for a missing file or variable."""
    if cfg.tls is None:
        return {}
    base = os.path.dirname(os.path.abspath(config_path)) if config_path else os.getcwd()
    out = {}
    for key, value in (("certfile", cfg.tls.certfile), ("keyfile", cfg.tls.keyfile)):
        p = value if os.path.isabs(value) else os.path.join(base, value)
        if not os.path.isfile(p):
            raise ConfigError([f"{config_path}: tls.{key}: no such file {p}"])
        out[f"ssl_{key}"] = p
    if cfg.tls.key_password_env:
        pw = os.environ.get(cfg.tls.key_password_env)
        if not pw:
            raise ConfigError([f"{config_path}: tls.key_password_env: {cfg.tls.key_password_env} is not set"])
        out["ssl_keyfile_password"] = pw
    return out


async def _serve_hub(cfg, path, data_dir: str, sock: socket.socket, tls: dict | None = None,
                     listen_host: str | None = None) -> None:
    import logging

    from .hub.service import Hub
    from .web.app import create_app

    log = logging.getLogger("autobot_monitor")
    hub = Hub(cfg, data_dir, path)
    await hub.start()
    app = create_app(hub, listen_host)
    # X-Forwarded-For/-Proto believed only from auth.trusted_proxies (default: nobody)
    proxies = {"proxy_headers": True, "forwarded_allow_ips": list(cfg.auth.trusted_proxies)} \
        if cfg.auth.trusted_proxies else {}
    try:  # one write per response (web/serving.py); httptools is optional
        from .web.serving import CorkedHttpToolsProtocol as http
    except ImportError:
        http = "auto"
    # no Server header (nothing to fingerprint); WebSocket frames uncompressed (zlib state cost
    # ~40 KiB per client for a ~1 KiB message)
    server = _make_server(app, lifespan="off", ws_max_size=1 << 20, server_header=False, http=http,
                          ws_per_message_deflate=False, **proxies, **(tls or {}))
    import gc

    gc.freeze()  # start-up objects (modules, app, config) out of every later collection
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(hub.reload()))
    host, port = sock.getsockname()[:2]
    log.info("autobot-monitor %s hub on %s://%s:%s (config: %s, data: %s, access control: %s)",
             __version__, "https" if tls else "http", host, port, path or "defaults", data_dir,
             f"{len(cfg.auth.tokens)} token(s)" if cfg.auth.tokens else "off")
    cycles = asyncio.create_task(hub.run_forever())
    try:
        await server.serve(sockets=[sock])
    finally:
        hub.stop()
        await cycles
        await hub.close()
        log.info("hub stopped")


def cmd_stop(args: argparse.Namespace) -> int:
    pid_path = os.path.join(os.path.abspath(args.data_dir), PID_FILE)
    pid = read_pid(pid_path)
    if pid is None or not pid_alive(pid):
        from .hub.datadir import find_hub_process  # the pid file went with its data dir?

        pid = find_hub_process(args.data_dir)
        if pid is None:
            return fail(f"no running hub (no live pid in {pid_path}, no process started with "
                        "this data dir)", 1)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            print(f"stopped hub (pid {pid})")
            return 0
        time.sleep(0.1)
    return fail(f"hub pid {pid} did not stop within {args.timeout:.0f}s", 1)


# -- agent -----------------------------------------------------------------------------------
def cmd_agent(args: argparse.Namespace) -> int:
    import logging

    from .agent.app import KEEP_ALIVE_SECONDS, Agent, create_agent_app
    from .agent.mesh import Mesh, load_peers_file, parse_peer
    from .agent.throughput import ThroughputService
    from .collectors import REGISTRY, build
    from .collectors.base import CollectorContext
    from .collectors.runner import CollectorRunner

    host, port = args.listen
    try:
        token = _agent_token(args.token_file)
        peers = [parse_peer(p) for p in args.peer or []]
        if args.peers_file:
            peers += load_peers_file(args.peers_file, args.name or socket.gethostname(),
                                     f"{host}:{port}")
    except (OSError, ValueError) as e:
        return fail(str(e))
    if not _is_loopback(host) and not token and not args.insecure:
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
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    nvml = None
    if args.nvml_replay:  # recorded NVML answers through the same collector code path
        from .collectors.nvml_replay import NvmlReplay

        try:
            nvml = NvmlReplay.load(args.nvml_replay)
        except (OSError, ValueError) as e:
            return fail(f"--nvml-replay {args.nvml_replay}: {e}")
    ctx = CollectorContext(procfs=args.procfs, sysfs=args.sysfs, rootfs=args.rootfs, nvml=nvml)
    runner = CollectorRunner(build(ctx, args.enable, args.disable), timeout=args.timeout)
    scheme = "https" if args.tls_cert else "http"
    tput = ThroughputService({p.name: p.address for p in peers}, token, scheme,
                             args.peer_ca or True)
    sock = _bind(host, port)
    logging.getLogger("autobot_monitor").info(
        "agent on %s://%s:%s every %ss, %d peer(s), token %s", scheme, host, port, args.interval,
        len(peers), "required" if token else "off")
    tls = {"ssl_certfile": args.tls_cert, "ssl_keyfile": args.tls_key} if args.tls_cert else {}

    async def serve() -> None:
        mesh = Mesh(peers, args.mesh_interval, args.mesh_timeout, args.mesh_window,
                    icmp=None if args.mesh_icmp else False) if peers else None
        agent = Agent(runner, interval=args.interval, hostname=args.name, mesh=mesh)
        await _make_server(create_agent_app(agent, token, tput), timeout_keep_alive=KEEP_ALIVE_SECONDS,
                           **tls).serve(sockets=[sock])

    try:
        _run_loop(serve())
    except (OSError, MonitorError) as e:  # start-up failures (unreadable TLS key...): one line
        return fail(f"agent stopped: {_oserror(e) if isinstance(e, OSError) else e}", 1)
    return 0


def _agent_token(path: str | None) -> str | None:
    """The agent's bearer token: the first line of ``path``, else ``$AUTOBOT_AGENT_TOKEN``, else
    None. Raises ``ValueError`` for an empty token file, ``OSError`` for an unreadable one."""
    if path:
        with open(path, encoding="utf-8") as f:
            token = f.readline().strip()
        if not token:
            raise ValueError(f"{path}: empty token file")
        return token
    return os.environ.get("AUTOBOT_AGENT_TOKEN", "").strip() or None


# -- status ----------------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    from .status_view import show_status

    return show_status(args)


def cmd_check_config(args: argparse.Namespace) -> int:
    from .config.loader import load_config

    try:
        cfg = load_config(args.file)
    except ConfigError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 2
    print(f"{args.file}: OK ({len(cfg.hosts)} host(s), {len(cfg.services)} service(s), "
          f"{len(cfg.targets)} target(s), interval {cfg.monitoring_interval:g}s)")
    return 0


# -- parser ----------------------------------------------------------------------------------
def cmd_export_rules(args: argparse.Namespace) -> int:
    from .alerts.defaults import effective_rules
    from .alerts.promrules import export_rules

    loaded = _load_or_report(args.config)
    if loaded is None:
        return 2
    cfg = loaded[0]
    text = export_rules(effective_rules(cfg))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def build_parser(agent_only: bool = False) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="autobot-monitor",
                                description="Prometheus-native performance monitoring.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("start", help="run the hub in the foreground (collect, store, serve)")
    s.add_argument("--config", help="YAML config (default: ./monitoring_config.yaml if present)")
    s.add_argument("--port", type=cliargs.port, help="override dashboard_port (1-65535)")
    s.add_argument("--host", help="override dashboard_host (default 127.0.0.1)")
    s.add_argument("--data-dir", default=os.environ.get("AUTOBOT_MONITOR_DATA_DIR", "data"),
                   help="store, logs and pid file (default ./data or $AUTOBOT_MONITOR_DATA_DIR)")
    s.add_argument("--insecure", action="store_true",
                   help="allow listening beyond loopback without access control")
    s.set_defaults(func=cmd_start)

    s = sub.add_parser("stop", help="stop the hub started with the same --data-dir")
    s.add_argument("--data-dir", default=os.environ.get("AUTOBOT_MONITOR_DATA_DIR", "data"))
    s.add_argument("--timeout", type=cliargs.seconds, default=15.0)
    s.set_defaults(func=cmd_stop)

    s = sub.add_parser("agent", help="run a collection agent serving /metrics")
    s.add_argument("--listen", type=_split_listen, default=("127.0.0.1", 9100),
                   help="HOST:PORT (default 127.0.0.1:9100)")
    s.add_argument("--interval", type=cliargs.seconds, default=5.0, help="seconds between collections")
    s.add_argument("--timeout", type=cliargs.seconds, default=5.0, help="per-collector timeout, seconds")
    s.add_argument("--path.procfs", dest="procfs", default="/proc")
    s.add_argument("--path.sysfs", dest="sysfs", default="/sys")
    s.add_argument("--path.rootfs", dest="rootfs", default="/")
    s.add_argument("--collector.disable", dest="disable", action="append", metavar="NAME")
    s.add_argument("--collector.enable", dest="enable", action="append", metavar="NAME",
                   help="run only these collectors (repeatable)")
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
    if agent_only:
        return p  # the agent process skips the heavier subcommands' imports (numpy, store...)

    s = sub.add_parser("status", help="show the running hub's figures")
    s.add_argument("--url", default=os.environ.get("AUTOBOT_MONITOR_URL", DEFAULT_URL))
    s.add_argument("--json", action="store_true")
    s.add_argument("--timeout", type=cliargs.seconds, default=5.0)
    from .security_cli import add_parsers as add_security_parsers

    add_token_args(s)  # --token-file, --token, $AUTOBOT_MONITOR_TOKEN
    s.add_argument("--cacert", help="CA or self-signed certificate to trust for an https:// URL")
    s.set_defaults(func=cmd_status)

    add_security_parsers(sub)  # hash-token, verify-log

    s = sub.add_parser("export-rules",
                       help="write the alert rules (defaults + configured) as a Prometheus rules file")
    s.add_argument("--config", help="YAML config (default: ./monitoring_config.yaml if present)")
    s.add_argument("--out", help="file to write (default: stdout)")
    s.set_defaults(func=cmd_export_rules)

    s = sub.add_parser("check-config", help="validate a config file")
    s.add_argument("file")
    s.set_defaults(func=cmd_check_config)

    from .store.export import add_parsers as add_export_parsers

    add_export_parsers(sub, os.environ.get("AUTOBOT_MONITOR_URL", DEFAULT_URL), None)

    from .benchmark.command import add_parser as add_benchmark_parser

    add_benchmark_parser(sub)

    from .report.command import add_parser as add_report_parser

    add_report_parser(sub, os.environ.get("AUTOBOT_MONITOR_DATA_DIR", "data"))

    from .optimizer.command import add_parser as add_optimize_parser

    add_optimize_parser(sub, DEFAULT_URL)
    return p


def _translate_legacy(argv: list[str]) -> list[str] | int:
    """Map the spec's ``--start``-style spellings onto subcommands."""
    if not argv or not argv[0].startswith("--") or argv[0] in ("--help", "-h", "--version"):
        return argv
    head = argv[0]
    if head in LEGACY:
        return [LEGACY[head], *argv[1:]]
    if head == "--benchmark":  # --benchmark TYPE [options] -> benchmark TYPE [options]
        return ["benchmark", *argv[1:]]
    if head.startswith("--benchmark="):
        return ["benchmark", head.split("=", 1)[1], *argv[1:]]
    if head == "--optimize-once":
        return ["optimize", "--once", *argv[1:]]
    if head in NOT_YET:
        return fail(f"{head}: {NOT_YET[head]} is not offered", 1)
    return argv


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    translated = _translate_legacy(argv)
    if isinstance(translated, int):
        return translated
    args = build_parser(agent_only=translated[:1] == ["agent"]).parse_args(translated)
    if hasattr(args, "token") and hasattr(args, "token_file"):

        if (code := resolve_client_token(args, translated)) is not None:
            return code
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
