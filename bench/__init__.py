"""Benchmarks run by `make bench`; they print figures and ratios, they assert nothing."""

import os

# Run on a development machine, with its settings (a generated key, mail to the console);
# the settings keep DEBUG off unless asked for. Set here, so every benchmark and the
# management commands they start inherit it.
os.environ.setdefault("DEBUG", "true")
