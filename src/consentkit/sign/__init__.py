"""Signing packets (PAdES B-LTA with RFC 3161 timestamps) and verifying them."""
