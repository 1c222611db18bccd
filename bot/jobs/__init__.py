"""Background jobs: escalation mail and SLA services, recalibration, the insights refresher."""
