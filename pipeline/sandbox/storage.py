"""The sandbox's storage: scim2-server's in-memory storage, listed in insertion order.

The stock storage sorts every resource on each list request. Psoda lists in the order
the resources were created, so a plain list (no filter, no sort) walks that order
instead: pages are stable while resources are updated, and a list costs half as much.
Each write also keeps the resource's JSON form, so saving the state is one dump.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from scim2_models import Resource, ResourceType, SearchRequest
from scim2_server.memory import InMemoryStorage
from scim2_server.storage import SearchPage

STATE_KEYS = {"User": "users", "Group": "groups"}
"""The key of each resource type in a state or seed file."""

_VERSION = re.compile(r'^W/"(\d+)"$')

Key = tuple[str | None, str]


class SandboxStorage(InMemoryStorage):
    """In-memory storage that lists in insertion order and keeps JSON documents."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._order: dict[str | None, dict[str, None]] = {}
        self._documents: dict[Key, dict[str, Any]] = {}
        self.on_change = on_change or _nothing

    @property
    def resources(self) -> list[Resource[Any]]:
        """The stored resources, each type in insertion order."""
        with self.lock:
            return [
                self._resources[name][resource_id]
                for name, ids in self._order.items()
                for resource_id in ids
            ]

    @resources.setter
    def resources(self, resources: list[Resource[Any]]) -> None:
        self._replace([(resource, None) for resource in resources])

    def load(self, models: Mapping[str, type[Resource[Any]]], state: dict) -> None:
        """Replace every resource by those of a state document, keeping ids and meta.

        ``models`` maps a resource type name (``User``) to its model. A resource
        without id or meta gets them, as the server would on creation.
        """
        documents = [
            (name, _completed(document, name))
            for name, key in STATE_KEYS.items()
            for document in state.get(key, [])
        ]
        # Versions come from a counter: go on from the highest one on file, so
        # that an ETag seen before a restart never names another write.
        versions = [_version_number(document) for _, document in documents]
        self.versions = itertools.count(max(versions, default=0) + 1)
        for _, document in documents:
            document["meta"].setdefault("version", self.next_version())
        # The documents, already checked, are kept as the JSON forms: dumping
        # each resource again would cost a third of the load.
        self._replace(
            [(_validated(name, models[name], doc), doc) for name, doc in documents]
        )

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Return the state document: every resource's JSON form, by type key."""
        with self.lock:
            return {
                key: [self._documents[(name, i)] for i in self._order.get(name, {})]
                for name, key in STATE_KEYS.items()
            }

    def create(
        self, resource_type: ResourceType, resource: Resource[Any]
    ) -> Resource[Any]:
        with self.lock:
            created = super().create(resource_type, resource)
            self._remember(created)
        self.on_change()
        return created

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        with self.lock:
            updated = super().update(
                resource_type, resource, expected_version=expected_version
            )
            self._remember(updated)
        self.on_change()
        return updated

    def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        with self.lock:
            super().delete(
                resource_type, resource_id, expected_version=expected_version
            )
            self._order.get(resource_type.name, {}).pop(resource_id, None)
            self._documents.pop((resource_type.name, resource_id), None)
        self.on_change()

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        plain = (
            len(resource_types) == 1
            and search_request.filter is None
            and search_request.sort_by is None
            and search_request.cursor is None
        )
        if not plain:
            return super().search(resource_types, search_request, position=position)

        name = resource_types[0].name
        start = search_request.start_index_0 or 0
        stop = None if search_request.count is None else start + search_request.count
        with self.lock:
            ids = self._order.get(name, {})
            stored = self._resources.get(name, {})
            # Stored resources are replaced on update, never changed in place, and
            # the handler publishes a copy of each listed one: no copy needed here.
            page = [stored[i] for i in itertools.islice(ids, start, stop)]
            return SearchPage(len(ids), page)

    def _replace(self, stored: list[tuple[Resource[Any], dict | None]]) -> None:
        """Store these resources instead of the current ones, with their JSON forms."""
        with self.lock:
            resources = [resource for resource, _ in stored]
            InMemoryStorage.resources.fset(self, resources)  # type: ignore[attr-defined]
            self._order = {}
            self._documents = {}
            for resource, document in stored:
                self._remember(resource, document)

    def _remember(
        self, resource: Resource[Any], document: dict[str, Any] | None = None
    ) -> None:
        """Keep a stored resource's place in the listing order and its JSON form."""
        assert resource.meta is not None and resource.id is not None
        name = resource.meta.resource_type
        self._order.setdefault(name, {}).setdefault(resource.id, None)
        # A password is write-only: the sandbox never checks it, nor keeps it on disk.
        if document is None:
            document = resource.model_dump(mode="json", exclude={"password"})
        else:
            document = {k: v for k, v in document.items() if k != "password"}
        self._documents[(name, resource.id)] = document


def _nothing() -> None:
    """Do nothing: the default reaction to a write."""


def _completed(document: dict[str, Any], name: str) -> dict[str, Any]:
    """Return a stored document with an id and meta, as a created resource has."""
    completed = dict(document)
    completed.setdefault("id", uuid.uuid4().hex)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    meta = {"created": now, **completed.get("meta", {})}
    meta.setdefault("lastModified", meta["created"])
    meta["resourceType"] = name
    meta.pop("location", None)
    completed["meta"] = meta
    return completed


def _validated(
    name: str, model: type[Resource[Any]], document: dict[str, Any]
) -> Resource[Any]:
    """Return a stored document as a resource, or say which one is not valid."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise ValueError(
            f"{name} {document['id']!r} is not valid SCIM: {where}: {problem['msg']}"
        ) from error


def _version_number(document: dict[str, Any]) -> int:
    """Return the counter a stored version was drawn from, 0 for a foreign one."""
    found = _VERSION.match(str(document["meta"].get("version") or ""))
    return int(found.group(1)) if found else 0
