"""The service's routes, one :class:`fastapi.APIRouter` per resource."""
