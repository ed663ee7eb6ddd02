"""``srchallenge serve``: the API and web pages."""

from server.cli.db import prepare_database


def serve(host: str = "127.0.0.1", port: int = 8000, migrate: bool = True):
    """Run the API and web pages (uvicorn)."""
    import uvicorn

    from server.main import create_app

    if migrate:
        prepare_database()
    uvicorn.run(create_app(), host=host, port=port, log_level="info", timeout_graceful_shutdown=30)
