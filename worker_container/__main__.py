"""``python -m worker_container``: the image's command, a worker host."""

from worker_container.host import main

main()
