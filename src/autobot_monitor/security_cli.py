"""``autobot-monitor hash-token`` and ``autobot-monitor verify-log``."""

from __future__ import annotations

import argparse
import sys


def cmd_hash_token(args: argparse.Namespace) -> int:
    """Print a new random token (or the hash of ``--stdin``'s) and the config lines for it."""
    from .web.auth import hash_token, new_token

    if args.stdin:
        token = sys.stdin.readline().strip()
        if not token:
            print("autobot-monitor: no token on stdin", file=sys.stderr)
            return 2
        digest = hash_token(token)
    else:
        token, digest = new_token()
        print(f"token: {token}")
    print(f"sha256: {digest}")
    print("config:\n  auth:\n    tokens:\n"
          f"      - {{name: {args.name}, role: {args.role}, token_sha256: {digest}}}")
    return 0


def cmd_verify_log(args: argparse.Namespace) -> int:
    """Exit 0 when the chain over FILE... (oldest first) holds, 1 at the first broken record."""
    from .hashchain import GENESIS, verify_files

    try:
        res = verify_files(args.files)
    except OSError as e:
        print(f"autobot-monitor: cannot read {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    if res.broken:
        f, line, why = res.broken
        print(f"{f}:{line}: {why} ({res.records} record(s) before it are intact)")
        return 1
    anchor = "from the first record ever written" if res.first_prev in (None, GENESIS) else \
        f"from {res.first_prev[:16]}... (older records rotated away)"
    print(f"OK: {res.records} record(s), hash chain intact {anchor}")
    return 0


def add_parsers(sub) -> None:
    s = sub.add_parser("hash-token", help="make an API token and print its sha256 for auth.tokens")
    s.add_argument("--name", default="admin", help="token name for the printed config line")
    s.add_argument("--role", choices=("viewer", "admin"), default="admin")
    s.add_argument("--stdin", action="store_true", help="hash the token read from stdin instead")
    s.set_defaults(func=cmd_hash_token)
    for name in ("verify-log", "verify-logs"):
        s = sub.add_parser(name, help="check the hash chain of a JSONL log (logs/alerts.log)")
        s.add_argument("files", nargs="+", metavar="FILE",
                       help="log files, oldest first (alerts.log.2 alerts.log.1 alerts.log)")
        s.set_defaults(func=cmd_verify_log)
