"""Control-plane services: what the API, the reaper and the launcher's events do."""
