#!/usr/bin/env python3
"""Embed a quptime node in a Python program: start a one-node cluster, add an
HTTP check and print every transition (Ctrl-C to stop).

    python examples/python/monitor.py https://example.com
    python examples/python/monitor.py http://127.0.0.1:8000/ --duration 30 --count 2

Needs the `quptime` module: `cd quptime-py && maturin develop` (or install
the wheel `maturin build` makes). Other nodes can join this one with the
token it prints: `qu enroll join <token>` or `quptime.Cluster.join(token, dir)`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

import quptime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the URL to watch")
    parser.add_argument("--data-dir", help="node directory (default: a temporary one)")
    parser.add_argument("--interval", default="2s", help="probe interval (default 2s)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--count", type=int, help="stop after this many transitions")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="quptime-") as tmp:
        data_dir = args.data_dir or f"{tmp}/node"
        # Initialises the directory on first use; port 0 picks a free port.
        with quptime.Cluster.start(data_dir, bind="127.0.0.1", port=0) as node:
            print(f"node {node.node_id} listening on {node.local_addr}", flush=True)
            # Subscribe first, then add the check: no transition is missed.
            transitions = node.subscribe()
            try:
                node.add_check("watched", "http", args.url, interval=args.interval, timeout="1s")
            except quptime.QuptimeError as e:
                print(f"error: {e}", file=sys.stderr)
                return 1
            print(f"watching {args.url} every {args.interval}", flush=True)
            deadline = None if args.duration is None else time.monotonic() + args.duration
            seen = 0
            while args.count is None or seen < args.count:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                t = transitions.get(timeout=left)
                if t is not None:
                    print(t, flush=True)
                    seen += 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
