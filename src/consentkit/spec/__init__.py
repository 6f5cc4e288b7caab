"""Procedure specs, the intake catalogue and jurisdiction policies: models, loading, conditions, schema."""
