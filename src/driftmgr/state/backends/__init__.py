"""State backends: local, s3, azurerm, gcs, http, remote (HCP Terraform), pg."""

from driftmgr.state.backends.base import Backend, get_backend, new_lock_info, register, registered_schemes

__all__ = ["Backend", "get_backend", "new_lock_info", "register", "registered_schemes"]
