"""Record this machine's NVML answers as a fixture for the GPU collector's tests.

Run on a machine with an NVIDIA GPU and driver::

    .venv/bin/python bench/record_nvml.py -o tests/fixtures/nvml/h200_real.json --comment "H200 SXM"

It calls, through the real ``pynvml`` module, every function that
:class:`autobot_monitor.collectors.nvml_replay.NvmlReplay` answers and writes the JSON recording
that class loads (format in that module's docstring). Errors are recorded, never fatal: on a
machine without a GPU the recording just says ``nvmlInit`` failed. With ``--check`` it also runs
the GPU collector on the recording and prints the families it yields, one sample a line.
UUIDs identify physical cards; scrub them before committing if that matters.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

try:
    from autobot_monitor.collectors import nvml_replay
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    from autobot_monitor.collectors import nvml_replay


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    ap.add_argument("--comment", default="", help="free text stored in the recording")
    ap.add_argument("--check", action="store_true",
                    help="run the GPU collector on the recording and print its samples")
    args = ap.parse_args(argv)

    import pynvml

    recording = nvml_replay.record(pynvml, comment=args.comment)
    text = json.dumps(recording, indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {args.output}: {len(recording['devices'])} device(s)", file=sys.stderr)

    if args.check:
        from autobot_monitor.collectors.base import CollectorContext
        from autobot_monitor.collectors.gpu import GpuCollector

        col = GpuCollector(CollectorContext(nvml=nvml_replay.NvmlReplay(recording)))
        try:
            for fam in col.collect():
                for s in fam.samples:
                    labels = ",".join(f'{k}="{v}"' for k, v in s.labels)
                    print(f"{s.name}{{{labels}}} {s.value:g}", file=sys.stderr)
        finally:
            col.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
