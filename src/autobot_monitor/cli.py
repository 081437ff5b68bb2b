"""Command line: ``autobot-monitor {start,stop,agent,status,check-config}``.

The legacy spellings ``--start``, ``--stop``, ``--status``, ``--dashboard-only``,
``--benchmark TYPE`` and ``--optimize-once`` map onto these. Exit codes: 0 ok, 1 runtime failure,
2 bad usage or bad configuration (message ``FILE:LINE: key.path: problem``, no traceback).
The hub's ``start``/``stop`` live in :mod:`.hub_cli`, ``agent`` in :mod:`.agent.command`, the
servers' wiring in :mod:`.serve`; each other package adds its own subcommands.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__, cliargs
from .agent.command import add_parser as add_agent_parser
from .cmdline import add_token_args, fail, load_or_report, resolve_client_token
from .errors import ConfigError
from .hub_cli import add_parsers as add_hub_parsers

DEFAULT_URL = "http://127.0.0.1:9090"
LEGACY = {"--start": "start", "--stop": "stop", "--status": "status"}
NOT_YET = {"--dashboard-only": "a dashboard-only process (the dashboard is served by the hub: "
                              "`autobot-monitor start`, then open http://127.0.0.1:9090/)"}


# -- status, check-config, export-rules ------------------------------------------------------
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


def cmd_export_rules(args: argparse.Namespace) -> int:
    from .alerts.defaults import effective_rules
    from .alerts.promrules import export_rules

    loaded = load_or_report(args.config)
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


# -- parser ----------------------------------------------------------------------------------
def build_parser(agent_only: bool = False) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="autobot-monitor",
                                description="Prometheus-native performance monitoring.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    add_hub_parsers(sub)  # start, stop
    add_agent_parser(sub)
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
