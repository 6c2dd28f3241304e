"""Latent explorer: server round-trip latency of one decode (POST /api/decode → PNG).

Two untrained models are written as run folders (timing needs no training): the 64×64 β-VAE of the
directions paper (appendix B, 10 latents) and a 128×128 atomic autoencoder (the atomic paper's
preset). For each, the explorer's app is served by uvicorn on a free loopback port and a client
(the standard library's urllib, one request at a time) sends random codes; the script prints the
median and the 95th percentile of the round trip, and the decode alone for comparison.

    python benchmarks/explorer.py            # 200 requests per model
    python benchmarks/explorer.py --quick    # 10 requests (used by the tests)
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import torch

from latentatlas import train_run
from latentatlas.explorer import ExplorerSession
from latentatlas.explorer.app import create_app
from latentatlas.train.run import RunConfig

MODELS = {
    "64×64 β-VAE (appendix B)": {
        "dataset": {"name": "disks", "n": 64, "size": 64},
        "model": {
            "name": "beta_vae",
            "latent": {"name": "euclidean", "dim": 10},
            "encoder": {"name": "conv_encoder"},
            "decoder": {"name": "conv_decoder"},
            "likelihood": {"name": "bernoulli"},
        },
    },
    "128×128 atomic AE": {
        "dataset": {"name": "spikes", "n": 64, "size": 128},
        "model": {"name": "atomic_ae"},
    },
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(name: str, spec: dict, requests: int, root: Path) -> None:
    import uvicorn

    run = root / name.split()[0].replace("×", "x")
    config = RunConfig.from_dict(
        {**spec, "train": {"steps": 1, "batch_size": 8, "progress": False}}
    )
    train_run(config, run, defaults=None)
    session = ExplorerSession(run)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(session), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    g = torch.Generator().manual_seed(0)
    url = f"http://127.0.0.1:{port}/api/decode"
    trips, decodes = [], []
    try:
        for i in range(requests + 3):  # 3 warm-up requests
            z = (torch.randn(session.dim, generator=g)).tolist()
            body = json.dumps({"z": z}).encode()
            t0 = time.perf_counter()
            request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(request) as response:
                png = response.read()
            trip = time.perf_counter() - t0
            t1 = time.perf_counter()
            session.decode_png(z)
            decode = time.perf_counter() - t1
            if i >= 3:
                trips.append(trip)
                decodes.append(decode)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    trips_ms, decodes_ms = 1e3 * np.array(trips), 1e3 * np.array(decodes)
    print(
        f"{name}: round trip median {np.median(trips_ms):.1f} ms, 95th percentile "
        f"{np.percentile(trips_ms, 95):.1f} ms; decode + PNG alone median "
        f"{np.median(decodes_ms):.1f} ms ({len(png)} bytes per image, {requests} requests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 requests per model")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as root:
        for name, spec in MODELS.items():
            measure(name, spec, 10 if args.quick else 200, Path(root))


if __name__ == "__main__":
    main()
