"""Terraform state: parsing, backends and locating states."""
