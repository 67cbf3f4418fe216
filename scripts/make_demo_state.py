#!/usr/bin/env python3
"""Write src/driftmgr/examples/drift-demo.tfstate: the REAL Terraform state of the drift demo.

Run it again whenever examples/drift-demo/ or `build()` in src/driftmgr/cli/demo_infra.py changes,
or after upgrading moto (it may draw ids differently; `driftmgr demo` then says so):

    .venv/bin/python scripts/make_demo_state.py

Needs moto[server], the Terraform CLI on PATH and the hashicorp/aws provider in a filesystem mirror
(found like the tests find it: TF_PLUGIN_MIRROR, ~/.terraform.d/plugins, /usr/share, /usr/local/share,
/opt). What it does:
1. starts a moto server, seeds its id generator and creates the example infrastructure with boto3
   (`demo_infra.build`, the very calls `driftmgr demo` replays);
2. copies examples/drift-demo/*.tf to a work dir and adds one `import {}` block per resource;
3. `terraform plan` must import all of them and change nothing (the configuration describes the
   infrastructure exactly); then `terraform apply` of that plan writes the state;
4. a second `terraform plan -detailed-exitcode` must plan no change;
5. the state's ids must be the ids `build()` returned; the state is copied into the package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from driftmgr.cli import demo_infra  # noqa: E402

CONFIG_DIR = REPO / "examples" / "drift-demo"
TARGET = REPO / "src" / "driftmgr" / "examples" / "drift-demo.tfstate"


def find_mirror() -> Path:
    roots = [os.environ.get("TF_PLUGIN_MIRROR", ""), str(Path.home() / ".terraform.d" / "plugins"),
             "/usr/share/terraform/plugins", "/usr/local/share/terraform/plugins", "/opt"]  # fmt: skip
    for root in filter(None, roots):
        base = Path(root)
        if not base.is_dir():
            continue
        for binary in base.rglob("terraform-provider-aws_*"):
            if len(binary.parts) >= 7 and binary.parents[4].name == "registry.terraform.io":
                return binary.parents[5]
    sys.exit("no hashicorp/aws provider in a filesystem mirror (set TF_PLUGIN_MIRROR)")


def terraform(workdir: Path, env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> str:
    binary = shutil.which("terraform") or sys.exit("the Terraform CLI is not on PATH")
    proc = subprocess.run([binary, *args], cwd=workdir, env=env, capture_output=True, text=True, check=False)
    if proc.returncode not in ok:
        sys.exit(
            f"terraform {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr}"
        )
    return proc.stdout


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="driftmgr-demo-state-") as tmp:
        work = Path(tmp)
        rc = work / "terraformrc"
        rc.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path = "{find_mirror()}"\n'
            '    include = ["registry.terraform.io/hashicorp/*"]\n  }\n'
            '  direct { exclude = ["registry.terraform.io/hashicorp/*"] }\n}\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
        env.update(TF_CLI_CONFIG_FILE=str(rc), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
        tf_dir = work / "tf"
        tf_dir.mkdir()
        for f in sorted(CONFIG_DIR.glob("*.tf")):
            shutil.copy(f, tf_dir / f.name)

        with demo_infra.running_emulator(work) as emulator:
            emulator.reset()
            with demo_infra.emulator_environment(emulator.endpoint, work):
                built = demo_infra.build(demo_infra.ec2_client(), emulator.seed)
            (tf_dir / "imports.tf").write_text(
                "".join(f'import {{\n  to = {b.address}\n  id = "{b.import_id}"\n}}\n' for b in built)
            )
            var = f"-var=endpoint={emulator.endpoint}"
            terraform(tf_dir, env, "init", "-input=false", "-no-color")
            terraform(tf_dir, env, "plan", "-input=false", "-no-color", var, "-out=import.tfplan")
            plan = json.loads(terraform(tf_dir, env, "show", "-json", "import.tfplan"))
            changes = plan.get("resource_changes", [])
            bad = [
                f"{c['address']}: {c['change']['actions']}"
                + f"\n  before: {c['change'].get('before')}\n  after:  {c['change'].get('after')}"
                for c in changes
                if c["change"]["actions"] != ["no-op"] or "importing" not in c["change"]
            ]
            if bad or len(changes) != len(built):
                sys.exit(
                    f"the configuration does not describe the built infrastructure exactly "
                    f"({len(changes)} planned, {len(built)} built):\n" + "\n".join(bad)
                )
            terraform(tf_dir, env, "apply", "-input=false", "-no-color", "import.tfplan")
            (tf_dir / "imports.tf").unlink()
            terraform(tf_dir, env, "plan", "-input=false", "-no-color", "-detailed-exitcode", var)

        state = json.loads((tf_dir / "terraform.tfstate").read_text())
        in_state = {
            f"{r['type']}.{r['name']}" + (f'["{i["index_key"]}"]' if "index_key" in i else ""): i[
                "attributes"
            ]["id"]
            for r in state["resources"]
            for i in r["instances"]
        }
        expected = {b.address: b.id for b in built}
        if in_state != expected:
            sys.exit(f"state ids differ from the built ids:\n{in_state}\n{expected}")
        shutil.copy(tf_dir / "terraform.tfstate", TARGET)
        print(f"wrote {TARGET.relative_to(REPO)}: {len(built)} resources, lineage {state['lineage']}")


if __name__ == "__main__":
    main()
