"""Benchmark (issue 5): the API under 200 concurrent clients, and 500 WebSocket clients during a scan.

Usage: python benchmarks/api_load.py [--clients 200] [--seconds 60] [--think-ms 1000] [--client raw]
    [--ws-clients 500]

Starts a moto server, seeds it with a small estate (a VPC and subnets, one subnet changed by hand),
stores one real drift scan in a fresh data dir, and starts `driftmgr serve` (one uvicorn process,
embedded mode: SQLite, in-process jobs and events) on a free port. Then, side by side in one run:

- baseline: the clients hammer `GET /api/v1/auth/me` (token authentication and nothing else);
- DriftMgr: the same clients on the report and list endpoints, in turn: the stored report
  (`/api/v1/drift/scans/{id}`), the scan list and the scan's items.

Each client is one keep-alive connection. Two load models, each run for `--seconds`:

- closed loop: each client sends its next request as soon as the answer arrives (zero think time).
  The server is then always saturated and, by Little's law, latency = clients / throughput: a p99
  under 100 ms at 200 clients would need well over 2,000 requests/s from one process on two cores
  that also run this load generator. It measures capacity (req/s), not the latency users see;
- think time (`--think-ms`, default 1000; 0 skips it): each client waits that long after each answer
  (the first request at a random offset within it), as a dashboard or a CI job polling the API does:
  200 clients then offer about 200 requests/s, and the latency is that of an unsaturated server.

It prints requests/s, p50/p99 latency and the error rate (any non-2xx/304 or transport error) of the
baseline and DriftMgr for each model, and the ratios, with the CPU the server and the load generator
used. Then `--ws-clients` WebSocket clients subscribe to every event, a scan is started through the
API, and the script checks that each client received every event the scan's job published (compared
with `/api/v1/events?job_id=`), with the time until the last client had them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
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


class RawClient:
    """One keep-alive HTTP/1.1 connection, written for this load: GET with fixed headers, bodies by
    Content-Length or chunked. It costs a few percent of a core at 1,000 requests/s, where httpx's
    AsyncClient with 200 connections needs a whole core for about 100: with httpx the load generator,
    not the server, would be measured (`--client httpx` shows it)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self.conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str) -> int:
        if self.conn is None:
            self.conn = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.conn
        try:
            writer.write(f"GET {path} HTTP/1.1\r\n{self.head}\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            fields = dict(
                line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line
            )  # fmt: skip
            lowered = {k.strip().lower(): v.strip() for k, v in fields.items()}
            if lowered.get(b"transfer-encoding", b"").lower() == b"chunked":
                while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                    await reader.readexactly(size + 2)
                await reader.readuntil(b"\r\n")
            elif length := int(lowered.get(b"content-length", b"0")):
                await reader.readexactly(length)
            if lowered.get(b"connection", b"").lower() == b"close":
                self.close()
            return status
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn[1].close()
            self.conn = None


async def hammer(
    base: str,
    token: str,
    paths: list[str],
    clients: int,
    seconds: float,
    think_s: float = 0.0,
    client: str = "raw",
) -> dict[str, Any]:
    """`clients` connections for `seconds`, each waiting `think_s` after each answer (0: none)."""
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    host, port = base.removeprefix("http://").rsplit(":", 1)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as http:

        async def one(n: int) -> None:
            nonlocal errors
            raw = RawClient(host, int(port), headers)
            i = n
            if think_s:
                await asyncio.sleep(random.uniform(0, think_s))  # spread the clients
            while time.monotonic() < deadline:
                path = paths[i % len(paths)]
                i += 1
                t0 = time.perf_counter()
                try:
                    if client == "raw":
                        status = await asyncio.wait_for(raw.get(path), timeout=30)
                    else:
                        status = (await http.get(path)).status_code
                    ok = status in (200, 304)
                except (
                    TimeoutError,
                    OSError,
                    ValueError,
                    EOFError,
                    asyncio.LimitOverrunError,
                    httpx.HTTPError,
                ):
                    ok = False
                latencies.append(time.perf_counter() - t0)
                if not ok:
                    errors += 1
                if think_s:
                    await asyncio.sleep(think_s)
            raw.close()

        cpu0, started = time.process_time(), time.monotonic()
        await asyncio.gather(*(one(n) for n in range(clients)))
        elapsed = time.monotonic() - started
        client_cpu = (time.process_time() - cpu0) / elapsed
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "errors": errors,
        "error_rate": errors / max(1, len(latencies)),
        "client_cpu": client_cpu,
    }


def process_cpu(pid: int) -> float:
    """CPU seconds used so far by process `pid` (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def timed(pid: int, run: Any) -> dict[str, Any]:
    """Run a `hammer` coroutine; add the server's CPU use over it (1.0 = one core)."""
    cpu0, t0 = process_cpu(pid), time.monotonic()
    result: dict[str, Any] = asyncio.run(run)
    result["server_cpu"] = (process_cpu(pid) - cpu0) / (time.monotonic() - t0)
    return result


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
    ap.add_argument("--think-ms", type=float, default=1000, help="think time per client; 0: closed loop only")
    ap.add_argument("--client", choices=["raw", "httpx"], default="raw", help="the load generator's client")
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
        models = [("closed loop (no think time)", 0.0)]
        if args.think_ms > 0:
            models.append((f"think time {args.think_ms:.0f} ms per client", args.think_ms / 1000))
        results = []
        n, secs = args.clients, args.seconds
        for model, think in models:  # the baseline and DriftMgr alternate, in the same server
            base_run = timed(serve.pid, hammer(base, token, ["/api/v1/auth/me"], n, secs, think, args.client))
            api_run = timed(serve.pid, hammer(base, token, api_paths, n, secs, think, args.client))
            results.append((model, base_run, api_run))
        print(f"\n{n} clients × {secs:.0f} s each run, one uvicorn process, {args.client} client; "
              "cpu = cores used by the server / by the load generator")  # fmt: skip
        print(f"{'model':<30}{'run':<26}{'req/s':>7}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}"
              f"{'err rate':>9}{'cpu srv/cli':>13}")  # fmt: skip
        for model, base_run, api_run in results:
            for name, r in (("baseline: GET /auth/me", base_run), ("reports + lists + items", api_run)):
                cpu = f"{r['server_cpu']:.2f}/{r['client_cpu']:.2f}"
                print(f"{model:<30}{name:<26}{r['rps']:>7.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
                      f"{r['errors']:>7}{r['error_rate']:>9.3%}{cpu:>13}")  # fmt: skip
        for model, base_run, api_run in results:
            rps, p50 = api_run["rps"] / base_run["rps"], api_run["p50_ms"] / base_run["p50_ms"]
            p99 = api_run["p99_ms"] / base_run["p99_ms"]
            verdict = "met" if api_run["p99_ms"] < 100 and api_run["errors"] == 0 else "NOT met"
            print(f"{model}: ratios vs baseline req/s {rps:.2f}x, p50 {p50:.2f}x, p99 {p99:.2f}x; "
                  f"target p99 < 100 ms with 0 errors: {verdict}")  # fmt: skip
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
