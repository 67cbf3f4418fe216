"""Benchmark (issue 4): job throughput with 1 vs 2 Celery workers (`driftmgr worker`) on one Redis.

Usage: python benchmarks/jobs_throughput.py [--noop 200] [--drift 20] [--concurrency 2] [--rounds 2]
    [--redis-url redis://127.0.0.1:6379/15] [--database-url URL] [--types aws_vpc,aws_subnet,…]

Two workloads: no-op jobs (a job kind that returns at once, loaded into the workers through
DRIFTMGR_JOB_PLUGINS from a module this script writes to a temp dir), and drift scans of a small
Terraform state (one VPC with subnets) against a moto server this script starts, each job stored as
a scan. For each round and each workload it starts 1, then 2 worker processes (each with
`--concurrency` threads), waits until every worker ran a warm-up job, submits the jobs at once and
times until the last one succeeded. It prints every round, the medians, and the 2-worker/1-worker
ratio. The database defaults to a temp SQLite file; pass a PostgreSQL URL to measure that instead.
Redis DB `--redis-url` is FLUSHED before each run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from driftmgr.config import Settings  # noqa: E402
from driftmgr.platform.db.engine import Database  # noqa: E402
from driftmgr.platform.jobs import build_queue  # noqa: E402

PLUGIN = """
import os

def noop(ctx):
    return {"pid": os.getpid()}

def register(queue):
    queue.register("noop", noop)
"""


class NullBus:
    def publish(self, type: str, payload: Any = None, **kw: Any) -> None:
        return None

    def close(self) -> None:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    exe = Path(sys.executable).parent / "moto_server"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "moto.server"]
    log = open(tmp / "moto.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([*cmd, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1).read()
            return proc, endpoint
        except OSError:
            time.sleep(0.1)
    raise SystemExit("moto_server did not start")


def small_state(tmp: Path) -> Path:
    import boto3

    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.80.{i}.0/24")["Subnet"]["SubnetId"] for i in range(3)
    ]
    provider = 'provider["registry.terraform.io/hashicorp/aws"]'
    resources = [
        {
            "mode": "managed",
            "type": "aws_vpc",
            "name": "main",
            "provider": provider,
            "instances": [{"attributes": {"id": vpc, "cidr_block": "10.80.0.0/16", "tags": {}}}],
        },
        {
            "mode": "managed",
            "type": "aws_subnet",
            "name": "s",
            "provider": provider,
            "instances": [
                {"index_key": i, "attributes": {"id": sid, "vpc_id": vpc, "cidr_block": f"10.80.{i}.0/24"}}
                for i, sid in enumerate(subnets)
            ],
        },
    ]
    path = tmp / "small.tfstate"
    state = {"version": 4, "terraform_version": "1.7.0", "serial": 1, "lineage": "bench", "outputs": {}}
    path.write_text(json.dumps({**state, "resources": resources}))
    return path


def run_once(
    settings: Settings,
    db: Database,
    env: dict[str, str],
    workers: int,
    args: argparse.Namespace,
    kind: str,
    payload: dict[str, Any],
    count: int,
    tmp: Path,
) -> float:
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    q = build_queue(settings, db, NullBus())  # type: ignore[arg-type]
    q.register("noop", lambda ctx: {})
    procs = []
    for i in range(workers):
        log = open(tmp / f"worker-{i}.log", "wb")  # noqa: SIM115
        procs.append(
            subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "driftmgr"),
                    "worker",
                    "--concurrency",
                    str(args.concurrency),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        # warm-up: every worker has run a job (imports, connections) before the clock starts
        seen: set[int] = set()
        deadline = time.monotonic() + 120
        while len(seen) < workers and time.monotonic() < deadline:
            ids = [q.submit("noop") for _ in range(workers * args.concurrency * 2)]
            for job_id in ids:
                result = q.wait(job_id, timeout=120).result or {}
                seen.add(int(result.get("pid", 0)))
        started = time.perf_counter()
        ids = [q.submit(kind, payload) for _ in range(count)]
        for job_id in ids:
            view = q.wait(job_id, timeout=600)
            if view.status != "succeeded":
                raise SystemExit(f"job {job_id} {view.status}: {view.error}")
        return time.perf_counter() - started
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        q.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--noop", type=int, default=200)
    ap.add_argument("--drift", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    ap.add_argument("--database-url")
    ap.add_argument("--types", default="aws_vpc,aws_subnet,aws_security_group,aws_route_table")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="driftmgr-bench-jobs-") as tmp_s:
        tmp = Path(tmp_s)
        (tmp / "bench_job_plugins.py").write_text(PLUGIN)
        moto, endpoint = start_moto(tmp)
        aws = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(tmp / "absent"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "absent"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        os.environ.update(aws)
        try:
            state = small_state(tmp)
            db_url = args.database_url or f"sqlite:///{tmp / 'driftmgr.db'}"
            settings = Settings(
                data_dir=tmp / "data", database_url=db_url, redis_url=args.redis_url, jobs_queue_size=100_000
            )
            db = Database(
                db_url
                if not db_url.startswith("postgresql://")
                else db_url.replace("postgresql://", "postgresql+psycopg://", 1)
            )
            db.migrate()
            env = {
                **os.environ,
                **aws,
                "PYTHONPATH": str(tmp),
                "DRIFTMGR_DATA_DIR": str(tmp / "data"),
                "DRIFTMGR_DATABASE_URL": db_url,
                "DRIFTMGR_REDIS_URL": args.redis_url,
                "DRIFTMGR_JOB_PLUGINS": "bench_job_plugins:register",
                "DRIFTMGR_JOBS_QUEUE_SIZE": "100000",
            }
            drift_payload = {
                "sources": [str(state)],
                "regions": ["us-east-1"],
                "types": args.types.split(","),
            }
            load = os.getloadavg()
            print(
                f"cpus={os.cpu_count()} load={load[0]:.2f},{load[1]:.2f},{load[2]:.2f} db={db.dialect} "
                f"concurrency/worker={args.concurrency}"
            )
            results: dict[tuple[str, int], list[float]] = {}
            workloads = [("noop", {}, args.noop), ("drift", drift_payload, args.drift)]
            for r in range(args.rounds):
                for kind, payload, count in workloads:
                    for workers in (1, 2):
                        secs = run_once(settings, db, env, workers, args, kind, payload, count, tmp)
                        results.setdefault((kind, workers), []).append(count / secs)
                        print(
                            f"round {r + 1} {kind:5s} workers={workers} {count} jobs in {secs:6.2f}s "
                            f"= {count / secs:8.2f} jobs/s",
                            flush=True,
                        )
            print()
            print(f"{'workload':8s} {'1 worker':>12s} {'2 workers':>12s} {'ratio':>7s}")
            for kind, _p, _c in workloads:
                one = statistics.median(results[(kind, 1)])
                two = statistics.median(results[(kind, 2)])
                print(f"{kind:8s} {one:9.2f}/s {two:9.2f}/s {two / one:6.2f}x")
            print(f"load after: {os.getloadavg()[0]:.2f}")
        finally:
            moto.terminate()
            try:
                moto.wait(timeout=10)
            except subprocess.TimeoutExpired:
                moto.kill()
                moto.wait(timeout=10)


if __name__ == "__main__":
    main()
