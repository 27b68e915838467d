"""Reliability figures: the statistics, what counts in each figure, the snapshots, the charts and the pages."""
