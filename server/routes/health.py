"""Liveness and readiness probes for load balancers and compose health checks."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from server.deps import SessionDep
from server.services.queue import broker_reachable

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz():
    """On the event loop, no thread and no database: it answers while a burst fills the thread pool."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(session: SessionDep):
    checks = {"database": _database_ok(session), "broker": broker_reachable()}
    ready = all(checks.values())
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


def _database_ok(session) -> bool:
    try:
        session.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
