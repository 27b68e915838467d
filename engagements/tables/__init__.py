"""Spreadsheets in and out: importing providers, engagements and message history from CSV/XLSX,
and the engagement list and message logs as downloads."""
