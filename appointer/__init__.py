"""Appointer: appointments and deadlines for Norway's national services."""

__version__ = "0.1.0"
