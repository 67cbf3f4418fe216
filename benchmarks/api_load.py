"""Benchmark (issue 5): the API under 200 concurrent clients, and 500 WebSocket clients during a scan.

Usage: python benchmarks/api_load.py [--clients 200] [--seconds 60] [--ws-clients 500]

Starts a moto server, seeds it with a small estate (a VPC and subnets, one subnet changed by hand),
stores one real drift scan in a fresh data dir, and starts `driftmgr serve` (one uvicorn process,
embedded mode: SQLite, in-process jobs and events) on a free port. Then, side by side in one run:

- baseline: the clients hammer `GET /api/v1/auth/me` (token authentication and nothing else);
- DriftMgr: the same clients on the report and list endpoints, in turn: the stored report
  (`/api/v1/drift/scans/{id}`), the scan list and the scan's items.

Each client is one keep-alive connection sending requests back to back for `--seconds`. It prints
requests/s, p50/p99 latency and the error rate (any non-2xx/304 or transport error) of both, and
the ratios. Then `--ws-clients` WebSocket clients subscribe to every event, a scan is started
through the API, and the script checks that each client received every event the scan's job
published (compared with `/api/v1/events?job_id=`), with the time until the last client had them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from jobs_throughput import free_port, small_state, start_moto  # noqa: E402


def driftmgr(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    exe = Path(sys.executable).parent / "driftmgr"
    out = subprocess.run([str(exe), *args], env=env, input=stdin, capture_output=True, text=True)
    if out.returncode not in (0, 2):
        raise SystemExit(f"driftmgr {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def hammer(base: str, token: str, paths: list[str], clients: int, seconds: float) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as http:

        async def client(n: int) -> None:
            nonlocal errors
            i = n
            while time.monotonic() < deadline:
                path = paths[i % len(paths)]
                i += 1
                t0 = time.perf_counter()
                try:
                    r = await http.get(path)
                    ok = r.status_code in (200, 304)
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                if not ok:
                    errors += 1

        started = time.monotonic()
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.monotonic() - started
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "errors": errors,
        "error_rate": errors / max(1, len(latencies)),
    }


async def websockets_during_scan(base: str, token: str, n: int) -> dict[str, Any]:
    import httpx
    import websockets

    ws_url = base.replace("http://", "ws://") + "/api/v1/ws"
    received: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    ready = asyncio.Event()
    connected = 0
    job_id: dict[str, str] = {}
    done_at: list[float] = []

    async def client(k: int) -> None:
        nonlocal connected
        async with websockets.connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"},
                                      max_queue=None, open_timeout=60) as ws:  # fmt: skip
            json.loads(await ws.recv())  # welcome
            await ws.send(json.dumps({"subscribe": ["*"]}))
            json.loads(await ws.recv())  # subscribed
            connected += 1
            if connected == n:
                ready.set()
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), timeout=120))
                received[k].append(event)
                jid = job_id.get("id")
                if jid and event.get("job_id") == jid and event["type"] in ("job.succeeded", "job.failed"):
                    done_at.append(time.monotonic())
                    return

    tasks = [asyncio.create_task(client(k)) for k in range(n)]
    await asyncio.wait_for(ready.wait(), timeout=180)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        t0 = time.monotonic()
        r = await http.post("/api/v1/drift/scans", json={"sources": ["bench"]})
        r.raise_for_status()
        job_id["id"] = r.json()["job_id"]
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=300)
        stored = (await http.get("/api/v1/events", params={"job_id": job_id["id"], "limit": 1000})).json()[
            "items"
        ]
    want = {e["id"] for e in stored}
    complete = sum(1 for events in received if want <= {e["id"] for e in events})
    return {
        "clients": n,
        "events_of_the_scan": len(want),
        "clients_with_every_event": complete,
        "seconds_until_last_client_done": max(done_at) - t0 if done_at else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--ws-clients", type=int, default=500)
    args = ap.parse_args()
    print(f"cpus={os.cpu_count()} load={','.join(f'{x:.2f}' for x in os.getloadavg())}")
    tmp = Path(tempfile.mkdtemp(prefix="driftmgr-apiload-"))
    moto, endpoint = start_moto(tmp)
    serve: subprocess.Popen[bytes] | None = None
    try:
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
               "DRIFTMGR_DATA_DIR": str(tmp / "data"), "DRIFTMGR_SECRET_KEY": "b" * 48}  # fmt: skip
        os.environ.update({k: env[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                                                "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})  # fmt: skip
        state = small_state(tmp)
        import boto3

        ec2 = boto3.client("ec2", region_name="us-east-1")
        subnet = ec2.describe_subnets(Filters=[{"Name": "cidr-block", "Values": ["10.80.1.0/24"]}])[
            "Subnets"
        ][0]
        ec2.create_tags(Resources=[subnet["SubnetId"]], Tags=[{"Key": "owner", "Value": "by-hand"}])
        driftmgr(
            "users", "create-admin", "bench", "--password-stdin", env=env, stdin="bench password 0123456789\n"
        )
        token_out = driftmgr("tokens", "create", "--user", "bench", "--name", "bench", env=env)
        token = next(w for w in token_out.split() if w.startswith("dm_"))
        driftmgr("source", "add", "bench", str(state), env=env)
        driftmgr(
            "drift", "detect", "--state", str(state), "--region", "us-east-1", "--format", "json", env=env
        )
        port = free_port()
        exe = Path(sys.executable).parent / "driftmgr"
        serve = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env,
                                 stdout=subprocess.DEVNULL, stderr=open(tmp / "serve.log", "wb"))  # noqa: SIM115  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        req = urllib.request.Request(
            f"{base}/api/v1/drift/scans", headers={"Authorization": f"Bearer {token}"}
        )
        scan_id = json.loads(urllib.request.urlopen(req).read())["items"][0]["id"]
        api_paths = [
            f"/api/v1/drift/scans/{scan_id}",
            "/api/v1/drift/scans",
            f"/api/v1/drift/scans/{scan_id}/items",
        ]
        base_run = asyncio.run(hammer(base, token, ["/api/v1/auth/me"], args.clients, args.seconds))
        api_run = asyncio.run(hammer(base, token, api_paths, args.clients, args.seconds))
        print(f"\n{args.clients} clients × {args.seconds:.0f} s each run, one uvicorn process")
        print(f"{'run':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for name, r in (("baseline: GET /auth/me", base_run), ("reports + lists + items", api_run)):
            print(f"{name:<34}{r['rps']:>9.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['errors']:>8}")
        rps, p50 = api_run["rps"] / base_run["rps"], api_run["p50_ms"] / base_run["p50_ms"]
        p99 = api_run["p99_ms"] / base_run["p99_ms"]
        print(f"ratios vs baseline: req/s {rps:.2f}x, p50 {p50:.2f}x, p99 {p99:.2f}x")
        print(f"error rate: {api_run['error_rate']:.4%} (target 0), p99 target < 100 ms")
        ws = asyncio.run(websockets_during_scan(base, token, args.ws_clients))
        print(f"\nWebSocket: {ws['clients_with_every_event']}/{ws['clients']} clients received all "
              f"{ws['events_of_the_scan']} events of the scan; last client done "
              f"{ws['seconds_until_last_client_done']:.2f} s after the scan was submitted")  # fmt: skip
        print(f"load after: {os.getloadavg()[0]:.2f}")
    finally:
        if serve is not None:
            serve.terminate()
            serve.wait(timeout=30)
        moto.terminate()


if __name__ == "__main__":
    main()
