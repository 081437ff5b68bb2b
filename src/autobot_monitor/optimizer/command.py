"""``autobot-monitor optimize [--once] [--dry-run | --apply] [--url URL] [--json]``
(the spec's ``--optimize-once``).

With ``--url`` it asks a running hub (``POST /api/optimizer/run``). Without, it runs one cycle
here on the data dir (refused while a hub runs on it): collects the local host, checks the
services, reads the stored history, analyses, and with ``--apply`` applies what the guardrails
allow (auto-applicable, severity at or above ``optimization_severity_threshold``, hourly limit,
cooldowns, restart limits). Dry run is the default. Exit codes: 0 ok, 1 hub unreachable or an
applied action failed, 2 bad usage or config.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

from ..cmdline import PID_FILE, add_token_args, fail, find_and_load_config, pid_alive, read_pid


def add_parser(sub, default_url: str) -> None:
    s = sub.add_parser("optimize", help="analyse and print evidence-backed recommendations; "
                       "--apply runs the allowed actions")
    s.add_argument("--once", action="store_true", help="one cycle (the default; the spec's spelling)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--dry-run", action="store_true", help="print what each action would do (default)")
    g.add_argument("--apply", action="store_true", help="apply what the guardrails allow")
    s.add_argument("--url", help=f"ask the hub at this URL (e.g. {default_url}) instead of running here")
    s.add_argument("--config", help="YAML config (default ./monitoring_config.yaml if present)")
    s.add_argument("--data-dir", default=os.environ.get("AUTOBOT_MONITOR_DATA_DIR", "data"))

    add_token_args(s)  # --token-file, --token (warned: visible in ps), $AUTOBOT_MONITOR_TOKEN
    s.add_argument("--cacert", help="CA certificate to trust for an https:// URL")
    s.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the hub")
    s.add_argument("--json", action="store_true", help="print the cycle report as JSON")
    s.set_defaults(func=cmd_optimize)


def cmd_optimize(args: argparse.Namespace) -> int:
    from ..errors import ConfigError

    if args.url:
        rep = _remote(args)
        if isinstance(rep, int):
            return rep
    else:
        try:
            cfg, path = find_and_load_config(args.config)
        except ConfigError as e:
            for p in e.problems:
                print(p, file=sys.stderr)
            return 2
        data_dir = os.path.abspath(args.data_dir)
        pid = read_pid(os.path.join(data_dir, PID_FILE))
        if pid and pid_alive(pid):
            return fail(f"a hub (pid {pid}) runs on {data_dir}: use --url to ask it", 1)
        os.makedirs(data_dir, exist_ok=True)
        rep = asyncio.run(_local(cfg, path, data_dir, "cli" if args.apply else "none"))
    if args.json:
        print(json.dumps(rep, indent=2, allow_nan=False))
    else:
        render(rep, sys.stdout)
    failed = [r for r in rep["recommendations"] if not (r.get("result") or {}).get("ok", True)]
    return 1 if failed else 0


def _remote(args) -> dict | int:
    import ssl

    import httpx

    url = args.url.rstrip("/")
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    verify = ssl.create_default_context(cafile=args.cacert) if args.cacert else True
    try:
        with httpx.Client(timeout=args.timeout, headers=headers, verify=verify) as c:
            r = c.post(f"{url}/api/optimizer/run", json={"apply": bool(args.apply)})
    except httpx.HTTPError as e:
        return fail(f"cannot reach the hub at {url}: {e}", 1)
    if r.status_code != 200:
        try:
            msg = r.json().get("error")
        except ValueError:
            msg = r.text[:200]
        return fail(f"hub answered {r.status_code}: {msg}", 1)
    return r.json()


async def _local(cfg, path, data_dir: str, mode: str) -> dict:
    from ..hub.service import Hub

    hub = Hub(cfg, data_dir, path)
    await hub.start()
    try:
        await hub.runner.run()  # prime counters so rates have two readings
        await asyncio.sleep(1.0)
        await hub.run_cycle()
        await hub.optimizer.tick()
        return await hub.optimizer.run_cycle(mode)
    finally:
        await hub.close()


def _fmt_values(vals: dict) -> str:
    out = []
    for k, v in vals.items():
        if isinstance(v, float) and k.endswith(("_since", "_at")):
            v = time.strftime("%H:%M:%S", time.localtime(v))
        elif isinstance(v, float):
            v = f"{v:.4g}"
        out.append(f"{k}={v}")
    return ", ".join(out)


def render(rep: dict, f) -> None:
    """People's view of a cycle report: one block per recommendation."""
    recs = rep.get("recommendations") or []
    ts = rep.get("timestamp")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "n/m"
    f.write(f"optimizer cycle {rep.get('cycle')} at {when} ({rep.get('mode')}): "
            f"{len(recs)} recommendation(s)\n")
    if not recs:
        f.write("nothing to recommend: no measured figure crossed a threshold\n")
    for r in recs:
        ev = r["evidence"]
        win = ev.get("window") or {}
        span = ""
        if win.get("start") and win.get("end"):
            secs = win["end"] - win["start"]
            span = f" over {secs / 60:.0f} min" if secs >= 120 else f" over {secs:.0f} s"
        labels = ",".join(f"{k}={v}" for k, v in (ev.get("labels") or {}).items())
        f.write(f"\n[{r['severity']}] {r['category']}: {r['title']}  (id {r['id']})\n")
        f.write(f"  evidence: {ev['metric']}{{{labels}}}{span}"
                f"{' (' + str(ev['points']) + ' points)' if ev.get('points') else ''}: "
                f"{_fmt_values(ev['values'])}\n")
        for extra in ("top_processes", "commands"):
            if ev.get(extra):
                f.write(f"  {extra.replace('_', ' ')}: {json.dumps(ev[extra])}\n")
        a = r.get("action")
        if a:
            f.write(f"  action: {a['type']} {a['target']}"
                    f" ({'auto-applicable' if r['auto_applicable'] else 'apply by id only'})\n")
        f.write(f"  expected: {r['expected_effect']}\n  undo: {r['undo']}\n")
        for line in r.get("plan") or []:
            f.write(f"  would: {line}\n")
        d = r.get("decision") or {}
        res = r.get("result")
        if res:
            f.write(f"  applied: {res['summary']} ({'ok' if res['ok'] else 'FAILED'})\n")
            if res.get("measured"):
                f.write(f"  measured: {_fmt_values(res['measured'])}\n")
            eff = res.get("effect") or {}
            f.write(f"  effect: {eff.get('verdict')}"
                    f"{' (store comparison after the settle time)' if eff.get('verdict') == 'pending' else ''}\n")
        elif d:
            f.write(f"  decision: not applied: {d.get('reason')}\n")
