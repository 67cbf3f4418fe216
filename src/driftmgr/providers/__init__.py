"""providers layer (not built yet: see the open issues)."""
