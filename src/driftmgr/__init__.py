"""DriftMgr: find and fix drift between Terraform/OpenTofu state and the cloud."""

__version__ = "0.1.0"
