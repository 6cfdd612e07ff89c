"""``python -m worker_container``."""

from worker_container.main import main

main()
