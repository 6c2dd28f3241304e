"""Wall time of every registered reproduction at a scale, on this machine, recorded for
``latent-atlas reproduce --list``.

Each experiment runs as its own command, ``latent-atlas reproduce NAME --scale SCALE`` into a
temporary folder, timed from start to exit; the seconds of those that finished are merged into
``src/latentatlas/experiments/timings.json`` with the machine they were measured on (an
experiment that fails is reported and not recorded).

    python benchmarks/reproduce_times.py --scale quick            # every experiment
    python benchmarks/reproduce_times.py --scale quick slides-disk
    python benchmarks/reproduce_times.py --from-records reproductions

``--from-records`` takes, instead, the wall time of each record in ``reproductions/`` (a full
or declared reduced run of the library on the machine the record names, summed over the
invocations that built it) for its scale, without running anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from latentatlas.registry import EXPERIMENTS

TIMINGS = Path(__file__).resolve().parents[1] / "src/latentatlas/experiments/timings.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="experiments (default: all)")
    parser.add_argument("--scale", default="quick", help="quick, full or a reduced scale")
    parser.add_argument("--dry-run", action="store_true", help="list what would run")
    parser.add_argument("--from-records", type=Path, help="take the times of these records")
    parser.add_argument("--timings", type=Path, default=TIMINGS, help="the file to update")
    args = parser.parse_args()
    if args.from_records is not None:
        from_records(args.from_records, args.timings)
        return
    names = args.names or EXPERIMENTS.names()
    for name in names:
        EXPERIMENTS.get(name)  # an unknown name fails before anything runs
    if args.dry_run:
        print("\n".join(names))
        return
    record = json.loads(TIMINGS.read_text()) if TIMINGS.is_file() else {"seconds": {}}
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            command = [
                sys.executable,
                "-m",
                "latentatlas.cli",
                "reproduce",
                name,
                "--scale",
                args.scale,
                "--out",
                str(Path(tmp) / "out"),
            ]
            start = time.perf_counter()
            proc = subprocess.run(command, capture_output=True, text=True)
            seconds = time.perf_counter() - start
        if proc.returncode != 0:
            print(f"{name:<28} failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
            continue
        print(f"{name:<28} {seconds:8.1f} s", flush=True)
        record["seconds"].setdefault(name, {})[args.scale] = round(seconds, 1)
        record["machine"] = {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        }
        TIMINGS.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def from_records(root: Path, timings: Path = TIMINGS) -> None:
    """Merge the wall time of every record under ``root`` into ``timings``."""
    record = json.loads(timings.read_text()) if timings.is_file() else {"seconds": {}}
    for path in sorted(root.glob("*/record.json")):
        run = json.loads(path.read_text(encoding="utf-8"))
        if run.get("seconds") is None or run["experiment"] not in EXPERIMENTS:
            continue
        record["seconds"].setdefault(run["experiment"], {})[run["scale"]] = round(run["seconds"], 1)
        print(f"{run['experiment']:<28} {run['scale']:<6} {run['seconds']:8.1f} s")
    timings.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
