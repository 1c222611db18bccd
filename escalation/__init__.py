"""Tickets, SLA timers, mail out and in, reply parsing, operator console.
Not built yet: see the escalation issue."""
