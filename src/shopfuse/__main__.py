"""``python -m shopfuse``."""

from shopfuse.cli import main

main()
