"""Pure domain: statuses, the one transition table, and typed errors. No I/O, no AWS."""
