"""Append-only interaction log, metrics, trends, dashboard.
Not built yet: see the analytics issue."""
