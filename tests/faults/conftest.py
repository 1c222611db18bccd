"""The fault and abuse suite: crash runs with SIGKILL, bounded fuzzing of the public
entry points. Slow; part of the default run."""

from tests.escalation.conftest import smtp_server  # noqa: F401  (a real SMTP server)
