"""The HTTP service: ``shopfuse serve``."""

from shopfuse.service.app import ServiceSettings, create_app

__all__ = ["ServiceSettings", "create_app"]
