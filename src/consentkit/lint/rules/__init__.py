"""Lint rules by topic; :data:`consentkit.lint.registry.RULE_MODULES` lists the modules."""
