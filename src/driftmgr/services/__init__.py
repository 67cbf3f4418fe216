"""The service layer shared by the CLI, the API and workers."""
