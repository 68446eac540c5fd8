"""The HTTP service: ``shopfuse serve``."""

from shopfuse.service.app import create_app
from shopfuse.service.settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]
