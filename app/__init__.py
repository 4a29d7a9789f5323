"""Parlour: the desktop application (Qt lives under app/ui only)."""

__version__ = "0.1.0"
