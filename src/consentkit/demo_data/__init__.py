"""Sample data for ``consentkit demo`` (package data, so the demo works from an installed wheel)."""
