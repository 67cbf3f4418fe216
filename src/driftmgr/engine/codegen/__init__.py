"""Codify unmanaged resources: Terraform `import` blocks and generated resource configuration.

Pure: no I/O. `generate(resources, managed, schema)` → `Generated(imports_tf, generated_tf,
addresses, skipped, notes)`; see `driftmgr.engine.codegen.generate`.
"""

from driftmgr.engine.codegen.generate import Generated, generate

__all__ = ["Generated", "generate"]
