"""Security: users, roles and permissions, password hashing, API tokens, GUI sessions and CSRF, login
rate limiting (docs/security.md). Pure logic over the platform database; the service layer
(`driftmgr.services.access`) adds transactions and audit records."""
