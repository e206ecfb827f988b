"""The FastAPI service: `from api.app import create_app`."""
