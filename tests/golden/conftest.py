"""The golden environment: tests/golden/main.tf applied ONCE per test session on a private moto server.

`golden` (session) copies the configuration (main.tf + modules/) to a temporary directory, adds the
provider block pointing every service at the private moto server and the Lambda zip, runs
`terraform init` and `terraform apply` (~150 s), and stops the server at the end. The server is
private so the per-test resets of other modules' shared moto server cannot touch it. Tests point
boto3 at it with `golden.aws_env(monkeypatch)`.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.moto_server import MotoServer, set_fake_aws_env, start_moto
from tests.fixtures.terraform import Terraform

GOLDEN_DIR = Path(__file__).resolve().parent
CONFIG_FILES = ("main.tf", "modules")
APPLY_PARALLELISM = "8"


def instance_address(res: dict[str, Any], inst: dict[str, Any]) -> str:
    """Terraform's address of one state instance: `module.net.aws_subnet.this["a"]`, `aws_eip.nat[0]`."""
    addr = f"{res['type']}.{res['name']}"
    if res.get("module"):
        addr = f"{res['module']}.{addr}"
    key = inst.get("index_key")
    if isinstance(key, str):
        addr += f"[{json.dumps(key)}]"
    elif key is not None:
        addr += f"[{key}]"
    return addr


@dataclass
class Golden:
    terraform: Terraform
    server: MotoServer
    workdir: Path
    state: dict[str, Any]

    @property
    def state_path(self) -> Path:
        return self.workdir / "terraform.tfstate"

    def instances(self) -> dict[str, dict[str, Any]]:
        """Managed instances by address: {address: {"type", "attributes"}}."""
        out = {}
        for res in self.state["resources"]:
            if res.get("mode") != "managed":
                continue
            for inst in res["instances"]:
                out[instance_address(res, inst)] = {"type": res["type"], "attributes": inst["attributes"]}
        return out

    def attrs(self, address: str) -> dict[str, Any]:
        return dict(self.instances()[address]["attributes"])

    def id(self, address: str) -> str:
        return str(self.attrs(address)["id"])

    def aws_env(self, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
        if self.server.process.poll() is not None:
            pytest.fail(f"the golden moto server died (exit code {self.server.process.returncode})")
        set_fake_aws_env(monkeypatch, self.server.endpoint, tmp)


def lambda_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


@pytest.fixture(scope="session")
def golden(terraform: Terraform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Golden]:
    server = start_moto()
    try:
        workdir = tmp_path_factory.mktemp("golden")
        for name in CONFIG_FILES:
            src = GOLDEN_DIR / name
            if src.is_dir():
                shutil.copytree(src, workdir / name)
            else:
                shutil.copy(src, workdir / name)
        (workdir / "provider.tf").write_text(terraform.provider_block(server.endpoint))
        (workdir / "fn.zip").write_bytes(lambda_zip())
        terraform.run(workdir, "init", "-input=false", "-no-color")
        terraform.run(
            workdir,
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            f"-parallelism={APPLY_PARALLELISM}",
        )
        state = json.loads((workdir / "terraform.tfstate").read_text())
        yield Golden(terraform=terraform, server=server, workdir=workdir, state=state)
    finally:
        server.stop()
