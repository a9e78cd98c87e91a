"""The sandbox's WSGI application: scim2-server speaking Psoda's dialect.

Psoda differs from RFC 7644 in a few documented ways, all reproduced here: an
``API-Key`` header besides Bearer tokens, ``pageSize`` instead of ``count``, no
filter, no PATCH, no discovery besides ``/Schemas``, and a DELETE of a user that
suspends it. ``dialect="rfc"`` keeps scim2-server's own behaviour.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ETag,
    Filter,
    InvalidFilterException,
    InvalidValueException,
    NotFoundException,
    Pagination,
    Patch,
    ResourceType,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    UnauthorizedException,
)
from scim2_server.applications.wsgi import WSGIApplication, send_response
from scim2_server.conditions import Conditions
from scim2_server.errors import MethodNotAllowedException
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import ROUTES, Operation, match_pattern
from scim2_server.service import ScimService
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

from pipeline.errors import InputFileError
from pipeline.sandbox.faults import ConnectionDropped, FaultInjector, Faults
from pipeline.sandbox.state import StateFile, read_state
from pipeline.sandbox.storage import SandboxStorage

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

Dialect = Literal["psoda", "rfc"]

BASE_PATH = "/scim/v2"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

PSODA_OPERATIONS = {
    Operation.create,
    Operation.query,
    Operation.replace,
    Operation.delete,
    Operation.search,
    Operation.schemas,
    Operation.schema,
}
PSODA_ROUTES = tuple(
    route
    for route in ROUTES
    if route.operation in PSODA_OPERATIONS
    and route.name != "search_root"
    and not route.name.startswith("me_")
)
"""What Psoda serves; PATCH is refused with 405, every other endpoint is absent."""

AUTHENTICATION_SCHEMES = [
    AuthenticationScheme(
        type=AuthenticationScheme.Type.oauthbearertoken,
        name="Bearer token",
        description="The API key as a bearer token: Authorization: Bearer <key>",
    ),
]

logger = logging.getLogger(__name__)


def psoda_config() -> ServiceProviderConfig:
    """Describe what Psoda supports: plain CRUD and index paging."""
    return ServiceProviderConfig(
        patch=Patch(supported=False),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=False, max_results=MAX_PAGE_SIZE),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        pagination=Pagination(
            index=True,
            cursor=False,
            default_page_size=DEFAULT_PAGE_SIZE,
            max_page_size=MAX_PAGE_SIZE,
        ),
        authentication_schemes=AUTHENTICATION_SCHEMES,
    )


@functools.cache
def build_provider(dialect: Dialect) -> ScimProvider:
    """Describe the service: RFC 7643's schemas and resource types, and a config.

    Building the models from the schemas takes a quarter of a second, so every
    sandbox of a dialect shares one provider, which nothing changes.
    """
    if dialect == "psoda":
        config = psoda_config()
    else:
        config = load_default_service_provider_config()
        config.authentication_schemes = AUTHENTICATION_SCHEMES
    return ScimProvider.from_discovery(
        load_default_schemas().values(),
        load_default_resource_types().values(),
        config=config,
    )


class PsodaHandler(ScimHandler):
    """scim2-server's handler, except that deleting a user suspends it."""

    def delete_resource(
        self, resource_type: ResourceType, resource_id: str, conditions: Conditions
    ) -> None:
        if resource_type.name != "User":
            super().delete_resource(resource_type, resource_id, conditions)
            return
        current = self.storage.get(resource_type, resource_id)
        self.service.check_deletion(current, conditions)
        if getattr(current, "active", None) is False:
            return
        assert current.meta is not None
        version = current.meta.version
        suspended = current.model_copy(update={"active": False})
        self.storage.update(resource_type, suspended, expected_version=version)


def check_psoda_route(method: str, path: str) -> None:
    """Refuse what Psoda does not serve: 405 for PATCH, 404 for other endpoints."""
    segments = path.strip("/").split("/") if path.strip("/") else []
    allowed = []
    for route in PSODA_ROUTES:
        if match_pattern(route.pattern, segments) is None:
            continue
        if route.method == method:
            return
        allowed.append(route.method)
    if allowed:
        raise MethodNotAllowedException(allowed=allowed)
    raise NotFoundException(detail=f"No SCIM endpoint at {path!r}")


def psoda_query(query: Mapping[str, str]) -> dict[str, str]:
    """Translate Psoda's list parameters: ``pageSize`` pages, ``count`` is ignored."""
    names = {name.casefold(): name for name in query}
    if "filter" in names:
        raise InvalidFilterException(
            detail="Filtering is not supported; list all resources instead"
        )
    translated = {
        name: value
        for name, value in query.items()
        if name.casefold() not in ("count", "pagesize")
    }
    if "pagesize" in names:
        page_size = query[names["pagesize"]].strip()
        if not (page_size.isascii() and page_size.isdigit()):
            raise InvalidValueException(
                detail=f"pageSize must be a whole number, not {page_size!r}"
            )
        translated["count"] = page_size
    return translated


class SandboxApplication(WSGIApplication):
    """A SCIM server under ``/scim/v2``, with API keys, a dialect, state and faults."""

    storage: SandboxStorage

    def __init__(
        self,
        storage: SandboxStorage,
        provider: ScimProvider,
        *,
        dialect: Dialect,
        api_keys: Iterable[str],
        state: StateFile | None = None,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(storage, provider, ScimService(provider))
        self.log = logger
        self.dialect = dialect
        self.api_keys = tuple(key.encode() for key in api_keys)
        if not self.api_keys:
            raise ValueError("the sandbox needs at least one API key")
        if dialect == "psoda":
            self.handler = PsodaHandler(self.service, storage)
        self.state = state
        self.faults = FaultInjector(faults) if faults else None

    def flush(self) -> None:
        """Save the state file now, if it has unsaved changes."""
        if self.state is not None:
            self.state.flush()

    def needs_auth(self, request: ScimRequest) -> bool:
        """Psoda asks for a key on every request; RFC servers not for their config."""
        return self.dialect == "psoda" or super().needs_auth(request)

    def check_auth(self, request: ScimRequest) -> None:
        """Accept a known key in an ``API-Key`` header or as a Bearer token."""
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        offered = [request.header("API-Key")]
        if scheme.lower() == "bearer":
            offered.append(token.strip())
        for key in filter(None, offered):
            if any(hmac.compare_digest(key.encode(), known) for known in self.api_keys):
                return
        raise UnauthorizedException(
            detail="Missing or unknown API key; send it as 'API-Key: <key>' or "
            "'Authorization: Bearer <key>'"
        )

    def dispatch_request(self, request: ScimRequest) -> ScimResponse:
        if self.needs_auth(request):
            self.check_auth(request)
        if self.dialect == "psoda":
            check_psoda_route(request.method.upper(), request.path)
            request.query = psoda_query(request.query)
        return self.handler.handle(request)

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Serve a request under ``/scim/v2``, with the faults to inject."""
        path = environ.get("PATH_INFO", "")
        if path != BASE_PATH and not path.startswith(f"{BASE_PATH}/"):
            error = NotFoundException(detail=f"The SCIM API is at {BASE_PATH}")
            response = ScimResponse(HTTPStatus.NOT_FOUND, error.to_error().model_dump())
            return send_response(response, start_response)

        # The "/scim" prefix moves to the mount point, so that scim2-server sees
        # its own "/v2" and builds every location from ".../scim/v2".
        environ = dict(environ)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/scim"
        environ["PATH_INFO"] = path.removeprefix("/scim")

        refusal = self.faults.refusal() if self.faults else None
        if refusal is not None:
            return send_response(injected_error(*refusal), start_response)
        if self.faults and self.faults.drops_before():
            raise ConnectionDropped
        if self.faults:
            self.faults.stall()
        body = super().__call__(environ, start_response)
        if self.faults and self.faults.drops():
            raise ConnectionDropped
        return body


def injected_error(status: HTTPStatus, headers: dict[str, str]) -> ScimResponse:
    """Return a SCIM error response for an injected fault."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(status.value),
        "detail": f"Injected fault: {status.phrase}",
    }
    return ScimResponse(status, body, dict(headers))


def build_app(
    dialect: Dialect = "psoda",
    api_keys: Iterable[str] = ("secret",),
    state_path: str | Path | None = None,
    seed_path: str | Path | None = None,
    faults: Faults | None = None,
) -> SandboxApplication:
    """Build the sandbox's WSGI application, loaded from its state or its seed.

    The state file wins when it exists; otherwise the seed file is loaded (it must
    exist), else the server starts empty. Writes go to the state file, if any.
    """
    if dialect not in ("psoda", "rfc"):
        raise ValueError(f"unknown dialect {dialect!r}; use 'psoda' or 'rfc'")
    provider = build_provider(dialect)
    storage = SandboxStorage()

    state = StateFile(Path(state_path), storage.snapshot) if state_path else None
    source = Path(state_path) if state_path else None
    document = read_state(source) if source else None
    if document is None and seed_path:
        source = Path(seed_path)
        document = read_state(source, required=True)
    if document is not None:
        try:
            storage.load(resource_models(provider), document)
        except ValueError as error:
            raise InputFileError(f"{source}: {error}; fix the file") from error
    if state is not None:
        storage.on_change = state.mark_dirty

    return SandboxApplication(
        storage,
        provider,
        dialect=dialect,
        api_keys=api_keys,
        state=state,
        faults=faults,
    )


def resource_models(provider: ScimProvider) -> dict[str, Any]:
    """Map each resource type's name to its model, extensions included."""
    return {rt.name or "": provider.model_for(rt) for rt in provider.resource_types}
