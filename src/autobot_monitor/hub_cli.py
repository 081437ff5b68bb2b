"""``autobot-monitor start`` and ``stop``: the hub in the foreground, and stopping it by its pid
file (or, when the data directory went away, by its command line).

``start`` exits 2 for a bad config or refused listen address, 1 when the port, data directory or
store cannot be used or a hub already runs on the data directory; ``stop`` exits 1 when no hub
runs or it outlives ``--timeout``. Heavy modules (the hub, the web app) are imported only when a
hub starts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import time
from typing import TYPE_CHECKING, Any

from . import __version__, cliargs
from .cmdline import PID_FILE, fail, load_or_report, pid_alive, read_pid
from .errors import ConfigError, MonitorError
from .serve import bind, is_loopback, make_server, oserror, run_loop

if TYPE_CHECKING:
    from .config.models import MonitorConfig


def add_parsers(sub: Any) -> None:
    """The ``start`` and ``stop`` subcommands on ``sub`` (an argparse subparsers action)."""
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


def cmd_start(args: argparse.Namespace) -> int:
    """Run the hub until SIGTERM/SIGINT; the exit code (see the module docstring)."""
    loaded = load_or_report(args.config)
    if loaded is None:
        return 2
    cfg, path = loaded
    host = args.host or cfg.dashboard_host
    port = args.port if args.port is not None else cfg.dashboard_port
    try:  # tokens from the environment and the TLS files must be there before binding
        from .web.auth import resolve_tokens

        tokens = resolve_tokens(cfg.auth)
        tls = hub_tls(cfg, path)
    except ConfigError as e:
        return fail("\n".join(e.problems))
    if not is_loopback(host) and not tokens and not args.insecure:
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
        sock = bind(host, port)
        listener = setup_logging(cfg.logging, data_dir)
    except OSError as e:
        return fail(f"cannot use data directory {data_dir}: {oserror(e)}", 1)
    try:
        with open(pid_path, "w") as f:
            f.write(f"{os.getpid()}\n")
        run_loop(serve_hub(cfg, path, data_dir, sock, tls, host))
    except (OSError, MonitorError) as e:  # start-up failures (store in use, disk...): one line
        return fail(f"hub stopped: {oserror(e) if isinstance(e, OSError) else e}", 1)
    finally:
        stop_logging(listener)
        if read_pid(pid_path) == os.getpid():
            os.unlink(pid_path)
    return 0


def hub_tls(cfg: MonitorConfig, config_path: str | None) -> dict[str, str]:
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


async def serve_hub(cfg: MonitorConfig, path: str | None, data_dir: str, sock: socket.socket,
                    tls: dict[str, str] | None = None, listen_host: str | None = None) -> None:
    """Start the hub, serve its app on ``sock`` until a shutdown signal (SIGHUP reloads the
    config), then stop the cycles and close the hub. ``listen_host``: the address the
    server listens on, which ``Host`` headers may name. Raises what :meth:`Hub.start` raises."""
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
    http: Any
    try:  # one write per response (web/serving.py); httptools is optional
        from .web.serving import CorkedHttpToolsProtocol as http
    except ImportError:
        http = "auto"
    # no Server header (nothing to fingerprint); WebSocket frames uncompressed (zlib state cost
    # ~40 KiB per client for a ~1 KiB message)
    server = make_server(app, lifespan="off", ws_max_size=1 << 20, server_header=False, http=http,
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
    """SIGTERM the hub of ``args.data_dir`` and wait up to ``args.timeout`` s for it to exit."""
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
