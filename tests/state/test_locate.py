"""Locating states: fixture trees under locate_cases/ with the exact locations each must yield."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from driftmgr.errors import StateNotFoundError, UsageError
from driftmgr.state.backends import base
from driftmgr.state.backends.base import Backend
from driftmgr.state.locate import LocateResult, locate
from driftmgr.state.locate.expr import Scope, Unresolved, evaluate
from driftmgr.state.locate.functions import PURE_FUNCTIONS

CASES = Path(__file__).parent / "locate_cases"
INCLUDE_ROOT_HCL = 'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n'

TG_PROD_VPC = (
    "s3://acme-tfstate-prod/prod/us-east-1/vpc/terraform.tfstate?region=us-east-1&dynamodb_table=tf-locks"
)
TG_PROD_APP = (
    "s3://acme-tfstate-prod/prod/us-east-1/app/terraform.tfstate?region=us-east-1&dynamodb_table=tf-locks"
)
TG_DEV_VPC = (
    "s3://acme-tfstate-dev/dev/eu-west-1/vpc/terraform.tfstate?region=eu-west-1&dynamodb_table=tf-locks"
)


@pytest.fixture(autouse=True)
def _in_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from locate_cases/ so URLs are short relative paths; no ambient settings leak in."""
    monkeypatch.chdir(CASES)
    for name in (
        "TG_BUCKET_PREFIX",
        "TF_WORKSPACE",
        "TF_CLOUD_ORGANIZATION",
        "TF_CLOUD_HOSTNAME",
        "PG_CONN_STR",
    ):
        monkeypatch.delenv(name, raising=False)


def urls(result: LocateResult) -> list[str]:
    return [loc.url for loc in result.locations]


def by_url(result: LocateResult) -> dict[str, Any]:
    return {loc.url: loc for loc in result.locations}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


# --- state files and workspaces --------------------------------------------------------------


def test_state_files_and_workspace_states_are_found_backups_are_not() -> None:
    result = locate("workspaces")
    assert [(loc.url, loc.kind, loc.workspace, loc.exists) for loc in result.locations] == [
        ("workspaces/terraform.tfstate", "local", "default", True),
        ("workspaces/terraform.tfstate.d/dev/terraform.tfstate", "local", "dev", True),
        ("workspaces/terraform.tfstate.d/prod/terraform.tfstate", "local", "prod", True),
    ]
    assert result.warnings == []


def test_an_absolute_directory_gives_absolute_paths() -> None:
    result = locate(str(CASES / "workspaces"))
    assert urls(result)[0] == str(CASES / "workspaces" / "terraform.tfstate")


def test_a_glob_expands_to_its_matches() -> None:
    result = locate("workspaces/terraform.tfstate.d/*/terraform.tfstate")
    assert [(loc.url, loc.workspace) for loc in result.locations] == [
        ("workspaces/terraform.tfstate.d/dev/terraform.tfstate", "dev"),
        ("workspaces/terraform.tfstate.d/prod/terraform.tfstate", "prod"),
    ]


def test_a_single_state_file_is_its_own_location() -> None:
    result = locate("broken/terraform.tfstate")
    assert [(loc.url, loc.origin) for loc in result.locations] == [
        ("broken/terraform.tfstate", "broken/terraform.tfstate")
    ]


def test_a_missing_path_is_an_error_naming_it() -> None:
    with pytest.raises(StateNotFoundError, match="no-such-dir"):
        locate("no-such-dir")
    with pytest.raises(StateNotFoundError, match="matches nothing"):
        locate("nothing-here-*/x.tfstate")


def test_non_recursive_looks_at_the_top_directory_only(tmp_path: Path) -> None:
    write(tmp_path, {"top.tfstate": "{}", "sub/deep.tfstate": "{}"})
    assert urls(locate(str(tmp_path), recursive=False)) == [str(tmp_path / "top.tfstate")]
    assert urls(locate(str(tmp_path))) == [str(tmp_path / "sub/deep.tfstate"), str(tmp_path / "top.tfstate")]


def test_skipped_directories_are_not_walked(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/terraform.tfstate": "{}",
            "app/.terraform/providers/x.tfstate": "{}",
            ".git/objects/y.tfstate": "{}",
            "node_modules/pkg/z.tfstate": "{}",
            "unit/.terragrunt-cache/h/terraform.tfstate": "{}",
        },
    )
    assert urls(locate(str(tmp_path))) == [str(tmp_path / "app/terraform.tfstate")]


# --- backend blocks --------------------------------------------------------------------------


def test_root_module_with_an_s3_backend() -> None:
    result = locate("s3_root")
    assert [(loc.url, loc.kind, loc.workspace, loc.origin) for loc in result.locations] == [
        (
            "s3://acme-tfstate/network/terraform.tfstate?region=eu-west-1&dynamodb_table=tf-locks",
            "s3",
            "default",
            "s3_root/main.tf",
        )
    ]
    assert "AKIA" not in result.locations[0].url  # credentials in the block never reach the URL
    assert result.warnings == []


@pytest.mark.parametrize(
    ("case", "url", "kind", "workspace"),
    [
        ("backends/gcs", "gs://acme-tf/env/prod", "gcs", "default"),
        ("backends/azurerm", "azurerm://acmetfstate/tfstate/prod.terraform.tfstate", "azurerm", "default"),
        (
            "backends/http",
            "https://tfstate.acme.internal/state/app?lock_address=https://tfstate.acme.internal/state/app/lock"
            "&unlock_address=https://tfstate.acme.internal/state/app/lock&unlock_method=DELETE",
            "http",
            "default",
        ),
        (
            "backends/pg",
            "pg://tf@db.acme.internal/terraform_backend?sslmode=require&schema_name=app_prod",
            "pg",
            "default",
        ),
        ("backends/remote", "tfc://acme/networking", "remote", "networking"),
        ("cloud_block", "tfc://acme/billing-prod?hostname=tfe.acme.internal", "remote", "billing-prod"),
        ("remote_prefix", "tfc://acme/app-prod", "remote", "app-prod"),
        (
            "tofu_vars",
            "s3://acme-tofu-tfstate/billing/dev/terraform.tfstate?region=eu-central-1",
            "s3",
            "default",
        ),
    ],
)
def test_each_backend_type_becomes_its_url(case: str, url: str, kind: str, workspace: str) -> None:
    result = locate(case)
    assert [(loc.url, loc.kind, loc.workspace) for loc in result.locations] == [(url, kind, workspace)]
    assert result.locations[0].origin == f"{case}/main.tf"
    assert result.warnings == []


def test_secrets_in_backend_blocks_stay_out_of_urls() -> None:
    found = " ".join(urls(locate("backends")))
    for secret in ("hunter2", "c2VjcmV0", "terraform@", "username", "password"):
        assert secret not in found


def test_local_backend_path_and_workspace_dir() -> None:
    result = locate("backends/local")
    assert [(loc.url, loc.workspace, loc.exists, loc.origin) for loc in result.locations] == [
        ("backends/local/state/app.tfstate", "default", True, "backends/local/main.tf"),
        ("backends/local/state/workspaces/dev/terraform.tfstate", "dev", True, "backends/local/main.tf"),
    ]


def test_init_settings_file_gives_the_concrete_backend_and_selected_workspace() -> None:
    result = locate("initialized")
    assert [(loc.url, loc.workspace, loc.origin) for loc in result.locations] == [
        (
            "s3://acme-tfstate/app/terraform.tfstate?region=us-east-1&use_lockfile=true"
            "&workspace_key_prefix=envs&profile=ops&workspace=staging",
            "staging",
            "initialized/.terraform/terraform.tfstate",
        )
    ]
    # the empty `backend "s3" {}` was completed by init: no partial-configuration warning
    assert result.warnings == []


def test_settings_file_that_disagrees_with_the_configuration_reports_both(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.tf": 'terraform {\n  backend "gcs" {\n    bucket = "new-bucket"\n  }\n}\n',
            ".terraform/terraform.tfstate": '{"version": 3, "backend": {"type": "s3", "config": '
            '{"bucket": "old-bucket", "key": "k.tfstate", "region": null}}}',
        },
    )
    result = locate(str(tmp_path))
    assert urls(result) == ["gs://new-bucket", "s3://old-bucket/k.tfstate"]
    assert any("backend changed since terraform init" in w for w in result.warnings)


def test_partial_backend_is_completed_by_each_tfbackend_file() -> None:
    result = locate("partial")
    assert [(loc.url, loc.origin) for loc in result.locations] == [
        (
            "s3://acme-dev-tfstate/api/terraform.tfstate?region=eu-west-1&dynamodb_table=tf-locks",
            "partial/dev.s3.tfbackend",
        ),
        (
            "s3://acme-prod-tfstate/api/terraform.tfstate?region=us-east-2&dynamodb_table=tf-locks",
            "partial/prod.s3.tfbackend",
        ),
    ]
    assert result.warnings == [
        'partial/main.tf: backend "s3" is partially configured (missing bucket, key); '
        "completing it from dev.s3.tfbackend, prod.s3.tfbackend"
    ]


def test_partial_backend_without_backend_config_is_a_warning_naming_the_missing_settings() -> None:
    result = locate("partial_unresolved")
    assert result.locations == []
    assert result.warnings == [
        'partial_unresolved/main.tf: backend "azurerm" is partially configured '
        "(missing storage_account_name, key); supply them with -backend-config or run terraform init"
    ]


def test_cloud_block_selecting_by_tags_is_a_warning() -> None:
    result = locate("cloud_tags")
    assert result.locations == []
    assert result.warnings == [
        "cloud_tags/main.tf: cloud block selects workspaces by tags ['app', 'prod']: "
        "run `driftmgr state discover tfc://acme` to list them"
    ]


def test_cloud_block_uses_tf_workspace_and_tf_cloud_organization(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"main.tf": "terraform {\n  cloud {}\n}\n"})
    assert locate(str(tmp_path)).locations == []
    monkeypatch.setenv("TF_CLOUD_ORGANIZATION", "acme")
    monkeypatch.setenv("TF_WORKSPACE", "payments")
    assert urls(locate(str(tmp_path))) == ["tfc://acme/payments"]


def test_broken_tf_file_is_reported_and_the_rest_still_found() -> None:
    result = locate("broken")
    assert urls(result) == ["broken/terraform.tfstate"]
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("broken/main.tf: not valid HCL at line 4, column")
    assert "\n" not in result.warnings[0]


def test_unsupported_backend_type_is_a_warning() -> None:
    result = locate("unsupported")
    assert result.locations == []
    assert result.warnings == ["unsupported/main.tf: backend type 'consul' is not supported by DriftMgr"]


def test_unresolvable_variable_in_a_backend_is_a_warning(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.tf": """\
                terraform {
                  backend "s3" {
                    bucket = var.bucket
                    key    = "app.tfstate"
                  }
                }
                variable "bucket" {
                  type = string
                }
            """
        },
    )
    result = locate(str(tmp_path))
    assert result.locations == []
    assert result.warnings == [
        f'{tmp_path}/main.tf: backend "s3": cannot resolve bucket: `var.bucket` is not defined'
    ]


def test_a_tf_file_given_directly(tmp_path: Path) -> None:
    result = locate("s3_root/main.tf")
    assert urls(result) == [
        "s3://acme-tfstate/network/terraform.tfstate?region=eu-west-1&dynamodb_table=tf-locks"
    ]


def test_duplicate_backend_blocks_use_the_first_with_a_warning_and_override_files_win(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.tf": 'terraform {\n  backend "gcs" {\n    bucket = "first"\n  }\n}\n',
            "b.tf": 'terraform {\n  backend "gcs" {\n    bucket = "second"\n  }\n}\n',
        },
    )
    result = locate(str(tmp_path))
    assert urls(result) == ["gs://first"]
    assert "more than one backend/cloud block" in result.warnings[0]
    write(
        tmp_path, {"backend_override.tf": 'terraform {\n  backend "gcs" {\n    bucket = "override"\n  }\n}\n'}
    )
    assert urls(locate(str(tmp_path))) == ["gs://override"]


# --- Terragrunt ------------------------------------------------------------------------------


def test_terragrunt_units_resolve_through_root_hcl() -> None:
    result = locate("terragrunt")
    assert [(loc.url, loc.origin) for loc in result.locations] == [
        (TG_DEV_VPC, "terragrunt/live/dev/eu-west-1/vpc/terragrunt.hcl"),
        (TG_PROD_APP, "terragrunt/live/prod/us-east-1/app/terragrunt.hcl"),
        (TG_PROD_VPC, "terragrunt/live/prod/us-east-1/vpc/terragrunt.hcl"),
    ]
    assert {loc.note for loc in result.locations} == {"remote_state from terragrunt/live/root.hcl"}
    # the copy in .terragrunt-cache is neither a unit nor a module
    assert result.warnings == []


def test_terragrunt_get_env_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_BUCKET_PREFIX", "eu-")
    result = locate("terragrunt/live/prod")
    assert urls(result) == [
        TG_PROD_APP.replace("s3://acme", "s3://eu-acme"),
        TG_PROD_VPC.replace("s3://acme", "s3://eu-acme"),
    ]


def test_a_single_unit_file_given_directly() -> None:
    result = locate("terragrunt/live/dev/eu-west-1/vpc/terragrunt.hcl")
    assert urls(result) == [TG_DEV_VPC]


def test_terragrunt_legacy_root_merge_strategies_generate_and_unresolvable() -> None:
    result = locate("terragrunt_legacy")
    assert [(loc.url, loc.kind, loc.origin) for loc in result.locations] == [
        # shallow merge: the unit's own remote_state replaces the root's
        (
            "azurerm://acmedbprod/tfstate/database/database.tfstate",
            "azurerm",
            "terragrunt_legacy/database/terragrunt.hcl",
        ),
        # deep merge: the unit overrides one config key of the root's gcs settings
        ("gs://acme-tf/custom/billing", "gcs", "terragrunt_legacy/billing/terragrunt.hcl"),
        ("gs://acme-tf/network", "gcs", "terragrunt_legacy/network/terragrunt.hcl"),
        # no remote_state: a generate block writes the backend block
        (
            "s3://acme-edge-tfstate/edge/edge.tfstate?region=us-west-2",
            "s3",
            "terragrunt_legacy/edge/terragrunt.hcl",
        ),
    ]
    # the root terragrunt.hcl is included by the units, so it is not a unit itself
    assert result.warnings == [
        "terragrunt_legacy/audit/terragrunt.hcl: cannot resolve remote_state bucket: "
        "function `get_aws_account_id()` cannot be evaluated here"
    ]


def test_terragrunt_include_expose_named_includes_and_file_functions(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "infra/root.hcl": """\
                locals {
                  cfg = yamldecode(file("settings.yaml"))
                }
                remote_state {
                  backend = "s3"
                  config = {
                    bucket = local.cfg.bucket
                    key    = "${path_relative_to_include()}/tf.tfstate"
                    region = try(local.cfg.region, "us-east-1")
                  }
                }
            """,
            "infra/settings.yaml": "bucket: acme-yaml\n",
            "infra/env/common.hcl": 'locals {\n  team = "platform"\n}\n',
            "infra/env/svc/terragrunt.hcl": """\
                locals {
                  common = read_terragrunt_config("../common.hcl")
                }
                include "root" {
                  path   = find_in_parent_folders("root.hcl")
                  expose = true
                }
                include "common" {
                  path = "${get_terragrunt_dir()}/../common.hcl"
                }
                remote_state {
                  backend = "gcs"
                  config = {
                    bucket = "${include.root.locals.cfg.bucket}-${local.common.locals.team}"
                    prefix = "${path_relative_to_include("root")}/${path_relative_from_include("common")}"
                  }
                }
            """,
            "infra/env/other/terragrunt.hcl": """\
                include "root" {
                  path = find_in_parent_folders("root.hcl")
                }
            """,
        },
    )
    result = locate(str(tmp_path / "infra"))
    assert urls(result) == [
        "gs://acme-yaml-platform/env/svc/..",
        "s3://acme-yaml/env/other/tf.tfstate?region=us-east-1",
    ]
    assert result.warnings == []


def test_terragrunt_problems_are_warnings_naming_the_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a/terragrunt.hcl": 'include {\n  path = find_in_parent_folders("missing-root.hcl")\n}\n',
            "b/terragrunt.hcl": """\
                remote_state {
                  backend = "s3"
                  config = {
                    bucket = get_env("TG_NOT_SET_ANYWHERE")
                    key    = "b.tfstate"
                  }
                }
            """,
            "c/terragrunt.hcl": """\
                locals {
                  a = local.b
                  b = local.a
                }
                remote_state {
                  backend = "gcs"
                  config  = { bucket = local.a }
                }
            """,
            "d/terragrunt.hcl": 'remote_state {\n  backend = "consul"\n  config = { path = "x" }\n}\n',
            "e/terragrunt.hcl": "remote_state {\n  backend = \n}\n",
            "f/terragrunt.hcl": 'include {\n  path = "../nowhere/root.hcl"\n}\n',
        },
    )
    result = locate(str(tmp_path))
    assert result.locations == []
    warnings = "\n".join(result.warnings)
    assert (
        f"{tmp_path}/a/terragrunt.hcl: cannot resolve include path: "
        "find_in_parent_folders: no missing-root.hcl" in warnings
    )
    assert (
        f"{tmp_path}/b/terragrunt.hcl: cannot resolve remote_state bucket: get_env: environment variable"
        in warnings
    )
    assert (
        f"{tmp_path}/c/terragrunt.hcl: cannot resolve remote_state bucket: `local.a` refers to itself"
        in warnings
    )
    assert f"{tmp_path}/d/terragrunt.hcl: remote_state backend 'consul' is not supported" in warnings
    assert f"{tmp_path}/e/terragrunt.hcl: not valid HCL at line 2" in warnings
    assert (
        f"{tmp_path}/f/terragrunt.hcl: included file {tmp_path}/nowhere/root.hcl does not exist" in warnings
    )


# --- the whole tree --------------------------------------------------------------------------


def test_the_whole_case_tree_in_one_walk() -> None:
    result = locate(".")
    found = by_url(result)
    for url in (
        TG_DEV_VPC,
        TG_PROD_APP,
        TG_PROD_VPC,
        "tfc://acme/networking",
        "workspaces/terraform.tfstate",
    ):
        assert url in found
    assert len(found) == 25
    assert urls(result) == sorted(urls(result))
    assert not any("/.terraform/" in u or ".terragrunt-cache" in u or u.endswith(".backup") for u in found)
    assert len(result.warnings) == 6  # broken, cloud tags, 2 partial, consul, get_aws_account_id


# --- bucket prefixes -------------------------------------------------------------------------


class _FakeBucket(Backend):
    """A listing-only backend: objects of one in-memory bucket."""

    kind = "s3"
    objects = (
        "prod/app.tfstate",
        "prod/net/vpc.tfstate",
        "prod/notes.txt",
        "prod/app.tfstate.backup",
        "dev/x.tfstate",
    )

    def open(self) -> IO[bytes]:
        raise StateNotFoundError("not used", source=self.url)

    def write(self, data: bytes, *, lock_id: str | None = None) -> None:
        raise AssertionError("locate never writes")

    def list_states(self) -> list[str]:
        prefix = self.url.removeprefix("fakes3://bucket/")
        return [
            f"fakes3://bucket/{k}" for k in self.objects if k.startswith(prefix) and k.endswith(".tfstate")
        ]


class _OneState(_FakeBucket):
    list_states = Backend.list_states


@pytest.fixture
def fake_schemes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    base.registered_schemes()  # load the built-ins first, then add ours for this test only
    monkeypatch.setitem(base._REGISTRY, "fakes3", _FakeBucket)
    monkeypatch.setitem(base._REGISTRY, "fakeone", _OneState)
    yield


@pytest.mark.usefixtures("fake_schemes")
def test_prefix_url_lists_one_location_per_state_object() -> None:
    result = locate("fakes3://bucket/prod/")
    assert [(loc.url, loc.kind, loc.origin, loc.exists) for loc in result.locations] == [
        ("fakes3://bucket/prod/app.tfstate", "s3", "fakes3://bucket/prod/", True),
        ("fakes3://bucket/prod/net/vpc.tfstate", "s3", "fakes3://bucket/prod/", True),
    ]
    assert urls(locate("fakes3://bucket/prod/", recursive=False)) == ["fakes3://bucket/prod/app.tfstate"]


@pytest.mark.usefixtures("fake_schemes")
def test_url_of_a_backend_that_cannot_list_is_one_location() -> None:
    result = locate("fakeone://thing?workspace=blue")
    assert [(loc.url, loc.workspace) for loc in result.locations] == [
        ("fakeone://thing?workspace=blue", "blue")
    ]


def test_unknown_url_scheme_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="nosuch"):
        locate("nosuch://bucket/prefix/")


@pytest.mark.emulator
def test_s3_prefix_on_moto(aws_env: Any) -> None:
    s3_backend = pytest.importorskip("driftmgr.state.backends.s3")
    del s3_backend
    client = aws_env.client("s3")
    client.create_bucket(Bucket="locate-prefix")
    for key in ("prod/app.tfstate", "prod/net/vpc.tfstate", "prod/readme.md", "dev/other.tfstate"):
        client.put_object(Bucket="locate-prefix", Key=key, Body=b"{}")
    result = locate("s3://locate-prefix/prod/")
    assert [u.split("?")[0] for u in urls(result)] == [
        "s3://locate-prefix/prod/app.tfstate",
        "s3://locate-prefix/prod/net/vpc.tfstate",
    ]
    assert {loc.kind for loc in result.locations} == {"s3"}


# --- the expression evaluator ----------------------------------------------------------------


def _eval(raw: Any, **roots: Any) -> Any:
    return evaluate(raw, Scope(roots=roots, functions=dict(PURE_FUNCTIONS)))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"plain"', "plain"),
        ("plain", "plain"),  # python-hcl2 4.x leaves quotes off
        ('"a\\"b\\\\c\\n"', 'a"b\\c\n'),
        ('"$${literal}"', "${literal}"),
        ('"${local.env}-x"', "prod-x"),
        ("${local.env}", "prod"),
        ('${local.n > 2 ? "big" : "small"}', "big"),
        ('${format("%s/%03d/%v", local.env, local.n, true)}', "prod/003/true"),
        ('${join("-", ["a", upper(local.env)])}', "a-PROD"),
        ('${replace("a.b.c", ".", "/")}', "a/b/c"),
        ('${replace("v1.2", "/[.]/", "_")}', "v1_2"),
        ('${lookup({a = "x"}, "b", "dflt")}', "dflt"),
        ('${try(local.missing, "fallback")}', "fallback"),
        ("${can(local.missing)}", False),
        ("${merge({a = 1}, {b = 2})}", {"a": 1, "b": 2}),
        ('${basename("live/prod/vpc")}/${dirname("live/prod/vpc")}', "vpc/live/prod"),
        ('"<<EOF\nkey = ${local.env}\nEOF"', "key = prod\n"),
        ('"<<-EOT\n    indented\n      more\n    EOT"', "indented\n  more\n"),
        ("${-local.n + 10 * 2}", 17),
        ('${!(local.env == "dev") && true}', True),
        ("${[1, 2][1]}", 2),
        ({"k": '"${local.env}"', "__is_block__": True}, {"k": "prod"}),
    ],
)
def test_expressions_that_name_locations(raw: Any, expected: Any) -> None:
    assert _eval(raw, local={"env": "prod", "n": 3}) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("${var.x}", "`var` is not known"),
        ('${run_cmd("whoami")}', "function `run_cmd()` cannot be evaluated"),
        ('"%{ if true }x%{ endif }"', "template directive"),
        ("${[for s in local.l : s]}", "`for` expressions are not supported"),
        ("${local.l[*]}", "splat"),
        ('"x${local.none}"', "null"),
        ("${local.l[5]}", "out of range"),
        ("${1 / 0}", "division by zero"),
        ('${"a" + 1}', "non-number"),
        ("${local.l.x}", "cannot index"),
    ],
)
def test_unsupported_expressions_raise_unresolved(raw: str, message: str) -> None:
    with pytest.raises(Unresolved, match=re.escape(message)):
        _eval(raw, local={"l": [1], "none": None})


def test_s3_endpoint_settings_travel_in_the_url(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.tf": """\
                terraform {
                  backend "s3" {
                    bucket         = "minio-state"
                    key            = "team a/app#1.tfstate"
                    use_path_style = true
                    endpoints {
                      s3 = "http://127.0.0.1:9000"
                    }
                  }
                }
            """,
            ".terraform/environment": "blue",
        },
    )
    result = locate(str(tmp_path))
    assert urls(result) == [
        "s3://minio-state/team%20a/app%231.tfstate?endpoints.s3=http://127.0.0.1:9000&use_path_style=true"
        "&workspace=blue"
    ]
    assert result.locations[0].workspace == "blue"


def test_pg_key_value_conn_str(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "main.tf": """\
                terraform {
                  backend "pg" {
                    conn_str = "host=db.internal port=5433 dbname=tf user=ops sslmode=disable"
                  }
                }
            """
        },
    )
    assert urls(locate(str(tmp_path))) == ["pg://ops@db.internal:5433/tf?sslmode=disable"]


def test_locate_cases_fixture_is_intact() -> None:
    """The fixture tree relies on dot-directories; fail loudly if a checkout dropped them."""
    assert (CASES / "initialized/.terraform/terraform.tfstate").is_file()
    assert (CASES / "remote_prefix/.terraform/environment").is_file()


def test_terragrunt_repo_functions_defaults_and_object_config(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "repo/root.hcl": """\
                locals {
                  meta  = jsondecode(file("meta.json"))
                  extra = read_terragrunt_config(find_in_parent_folders("absent.hcl", "none.hcl"), {
                    locals = { suffix = "x" }
                  })
                }
                remote_state {
                  backend = "s3"
                  config = merge({ region = "eu-west-1" }, {
                    bucket = "${local.meta.bucket}-${local.extra.locals.suffix}"
                    key    = "${get_path_from_repo_root()}/${get_path_to_repo_root()}/tf.tfstate"
                  })
                }
            """,
            "repo/meta.json": '{"bucket": "acme-meta"}',
            "repo/live/app/terragrunt.hcl": INCLUDE_ROOT_HCL,
            "legacy/terragrunt.hcl": 'remote_state {\n  backend = "gcs"\n  config = { bucket = "old" }\n}',
            "legacy/unit/terragrunt.hcl": """\
                include "root" {
                  path           = ".."
                  merge_strategy = "deep"
                }
                remote_state {
                  backend = "s3"
                  config = { bucket = "child", key = "k.tfstate" }
                }
            """,
        },
    )
    (tmp_path / "repo/.git").mkdir()
    result = locate(str(tmp_path))
    assert urls(result) == [
        "s3://acme-meta-x/live/app/../../tf.tfstate?region=eu-west-1",
        "s3://child/k.tfstate",
    ]
    assert result.warnings == []


def test_terragrunt_include_selection_and_generate_problems(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "root.hcl": "locals {\n  x = 1\n}\n",
            "other.hcl": "locals {\n  y = 2\n}\n",
            "two/terragrunt.hcl": """\
                include "a" {
                  path = find_in_parent_folders("root.hcl")
                }
                include "b" {
                  path = find_in_parent_folders("other.hcl")
                }
                remote_state {
                  backend = "gcs"
                  config  = { bucket = "b", prefix = path_relative_to_include() }
                }
            """,
            "named/terragrunt.hcl": """\
                include "a" {
                  path = find_in_parent_folders("root.hcl")
                }
                remote_state {
                  backend = "gcs"
                  config  = { bucket = "b", prefix = path_relative_to_include("zz") }
                }
            """,
            "nomerge/terragrunt.hcl": """\
                include "a" {
                  path           = find_in_parent_folders("root.hcl")
                  merge_strategy = "no_merge"
                }
            """,
            "gen/terragrunt.hcl": """\
                generate "backend" {
                  path     = "backend.tf"
                  contents = "terraform { backend \\"s3\\" { bucket = } }"
                }
            """,
            "yaml/terragrunt.hcl": """\
                locals {
                  cfg = yamldecode("a: [")
                }
                remote_state {
                  backend = "gcs"
                  config  = { bucket = local.cfg.a, prefix = file("missing.txt") }
                }
            """,
            "nobackend/terragrunt.hcl": 'remote_state {\n  config = { bucket = "b" }\n}\n',
            "badbackend/terragrunt.hcl": "remote_state {\n  backend = local.nope\n}\n",
            "exposed/terragrunt.hcl": """\
                include {
                  path = find_in_parent_folders("root.hcl")
                }
                remote_state {
                  backend = "gcs"
                  config  = { bucket = "n${include.locals.x}", prefix = include.nothing }
                }
            """,
        },
    )
    warnings = "\n".join(locate(str(tmp_path)).warnings)
    assert "two/terragrunt.hcl: cannot resolve remote_state prefix: several include blocks" in warnings
    assert "named/terragrunt.hcl: cannot resolve remote_state prefix: no include block named 'zz'" in warnings
    assert "nobackend/terragrunt.hcl: remote_state names no backend" in warnings
    assert (
        "badbackend/terragrunt.hcl: cannot resolve remote_state backend: `local.nope` is not defined"
        in warnings
    )
    assert "nomerge/terragrunt.hcl: no remote_state (directly or through include)" in warnings
    assert "gen/terragrunt.hcl: cannot read the backend block generated in" in warnings
    assert "yaml/terragrunt.hcl: cannot resolve remote_state bucket: yamldecode():" in warnings
    assert "prefix: file('missing.txt')" in warnings
    assert "exposed/terragrunt.hcl: cannot resolve remote_state prefix: `include.nothing` is not defined" in (
        warnings
    )


def test_bad_settings_and_backend_config_files_are_warnings(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a/.terraform/terraform.tfstate": "{not json",
            "b/.terraform/terraform.tfstate": '{"backend": {"type": "consul", "config": {"path": "x"}}}',
            "c/.terraform/terraform.tfstate": '{"version": 3}',
            "d/main.tf": 'terraform {\n  backend "gcs" {}\n}\n',
            "d/backend.hcl": "bucket = \n",
            "e/main.tf": 'terraform {\n  backend "gcs" {}\n}\n',
            "e/x.tfbackend": "bucket = var.nope\n",
            "f/main.tf": 'terraform {\n  backend "azurerm" {}\n}\n',
            "f/x.tfbackend": 'key = "k"\n',
            "h/main.tf": 'terraform {\n  backend "http" {\n    address = "https://x"\n'
            "    lock_address = var.l\n  }\n}\n",
            "i/main.tf": 'terraform {\n  backend "http" {\n    address = "ftp://x"\n  }\n}\n',
        },
    )
    (tmp_path / "g").mkdir()
    (tmp_path / "g/main.tf").write_bytes(b"terraform {\xff\xfe}")
    result = locate(str(tmp_path))
    assert result.locations == []
    warnings = "\n".join(result.warnings)
    assert "a/.terraform/terraform.tfstate: cannot read the backend settings terraform init wrote" in warnings
    assert "b/.terraform/terraform.tfstate: backend type 'consul' is not supported" in warnings
    assert "c/.terraform" not in warnings
    assert "d/backend.hcl: not valid HCL" in warnings
    assert "e/x.tfbackend: cannot resolve bucket" in warnings
    assert 'h/main.tf: backend "http": cannot resolve lock_address' in warnings
    assert "i/main.tf: http backend address 'ftp://x' is not an http(s) URL" in warnings
    assert "f/x.tfbackend: still missing storage_account_name, container_name" in warnings
    assert "g/main.tf: not valid HCL: the file is not UTF-8 text" in warnings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('${coalesce("", local.env)}', "prod"),
        ('${element(["a", "b"], 3)}', "b"),
        ("${length(local.env)}", 4),
        ('${substr("terraform", 0, 5)}/${substr("terraform", 5, -1)}', "terra/form"),
        ('${concat(["a"], ["b"])}', ["a", "b"]),
        ('${split("/", "a/b")}', ["a", "b"]),
        ('${trimprefix("env:/x", "env:/")}${trimsuffix("y.tfstate", ".tfstate")}', "xy"),
        ('${title("acme")}-${trim("--x--", "-")}-${tostring(5)}', "Acme-x-5"),
        ('${lookup(local, "env")}', "prod"),
        ("${merge(null, {a = 1})}", {"a": 1}),
        ("${1.5 * 2}", 3.0),
        ('${"x" != "y" || false}', True),
        ('"n=${2.0}"', "n=2"),
    ],
)
def test_more_functions(raw: str, expected: Any) -> None:
    from driftmgr.state.locate.expr import Namespace

    ns = Namespace("local", {"env": "prod"}.__getitem__)
    assert _eval(raw, local=ns) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('${lookup({}, "k")}', "no key 'k'"),
        ('${format("%s %s", "a")}', "not enough arguments"),
        ("${element([], 0)}", "empty list"),
        ('${coalesce("", null)}', "every argument"),
        ("${length(1)}", "without a length"),
        ('${merge("x")}', "not an object"),
        ("${!1}", "non-boolean"),
        ('${-"a"}', "non-number"),
        ("${1 && true}", "needs booleans"),
        ('${1 ? "a" : "b"}', "not a boolean"),
        ("${(1}", "expected `)`"),
        ("${1 2}", "unsupported syntax"),
        ("${a.*.b}", "splat"),
        ('"${"unterminated}"', "unterminated"),
        ("${try()}", "no arguments"),
    ],
)
def test_more_unresolved(raw: str, message: str) -> None:
    with pytest.raises(Unresolved, match=re.escape(message)):
        _eval(raw, a={"b": 1})
