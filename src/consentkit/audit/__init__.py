"""The tamper-evident audit log: RFC 9162 Merkle tree over canonical-JSON events, signed and timestamped tree
heads, SQLite or PostgreSQL storage. See docs/audit.md."""
