"""A local SCIM server in Psoda's dialect, for rehearsals, tests and benchmarks.

app = build_app(api_keys=("secret",), state_path="state.json")
with SandboxServer(app) as server:
    ...  # talk to server.url with "API-Key: secret"
"""

from pipeline.sandbox.app import SandboxApplication, build_app
from pipeline.sandbox.faults import ConnectionDropped, Faults
from pipeline.sandbox.seed import generate_seed
from pipeline.sandbox.server import SandboxServer, serve

__all__ = [
    "ConnectionDropped",
    "Faults",
    "SandboxApplication",
    "SandboxServer",
    "build_app",
    "generate_seed",
    "serve",
]
