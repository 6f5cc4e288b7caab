"""Rendering: documents from a procedure spec (and a patient's case) as PDF/A, DOCX, HTML and a calendar."""
