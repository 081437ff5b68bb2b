"""``autobot-monitor hash-token`` and ``autobot-monitor verify-log`` (issue 9)."""

from __future__ import annotations

import argparse
import os
import sys

TOKEN_ENV = "AUTOBOT_MONITOR_TOKEN"


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
    from .audit import GENESIS, verify_files

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


def add_token_args(s: argparse.ArgumentParser) -> None:
    """``--token-file`` and ``--token`` (default ``$AUTOBOT_MONITOR_TOKEN``) on a client command;
    :func:`resolve_client_token` settles them after parsing."""
    s.add_argument("--token-file", help="file whose first line is the API token sent as a bearer")
    s.add_argument("--token", default=os.environ.get(TOKEN_ENV),
                   help=f"API token sent as a bearer (default ${TOKEN_ENV}); visible to every user "
                        "in ps: prefer --token-file or the variable")


def resolve_client_token(args: argparse.Namespace, argv: list[str]) -> int | None:
    """Fill ``args.token`` from ``--token-file`` (first line), which wins over ``--token`` and the
    environment; warn on stderr when the token was given on the command line. Returns an exit
    code (2) after printing why when the file is unreadable or empty, else None."""
    if any(a == "--token" or a.startswith("--token=") for a in argv):
        print("autobot-monitor: warning: --token shows the token to every user in ps; use "
              f"--token-file FILE or ${TOKEN_ENV}", file=sys.stderr)
    path = getattr(args, "token_file", None)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            token = f.readline().strip()
    except (OSError, UnicodeDecodeError) as e:
        print(f"autobot-monitor: --token-file {path}: {getattr(e, 'strerror', None) or e}",
              file=sys.stderr)
        return 2
    if not token:
        print(f"autobot-monitor: --token-file {path}: empty file", file=sys.stderr)
        return 2
    args.token = token
    return None


def describe_http_error(e: Exception, url: str) -> str:
    """One line for an ``httpx.HTTPError`` from a client command talking to the hub at ``url``:
    401/403 "token missing or refused", 429 "rate limited (429), retry after N s" (N from the
    ``Retry-After`` header when present), another status with the API's ``{"error": ...}``
    message, and "cannot reach the hub" for transport errors."""
    import httpx

    if not isinstance(e, httpx.HTTPStatusError):
        return f"cannot reach the hub at {url}: {e}"
    r = e.response
    if r.status_code in (401, 403):
        return f"hub at {url} answered {r.status_code}: token missing or refused"
    if r.status_code == 429:
        after = r.headers.get("retry-after", "").strip()
        return (f"hub at {url} rate limited (429), retry after {after} s" if after.isdigit()
                else f"hub at {url} rate limited (429), retry later")
    try:
        detail = r.json().get("error")
    except (ValueError, AttributeError):
        detail = None
    return f"hub at {url} answered {r.status_code}" + (f": {str(detail)[:300]}" if detail else "")
