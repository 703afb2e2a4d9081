"""The request object an API handler (and its middleware) receives."""

from __future__ import annotations

from typing import Any

# snake_case spellings accepted as attributes, mapped to the keys Motia uses.
_ALIASES = {
    "path_params": "pathParams",
    "query_params": "queryParams",
    "raw_body": "rawBody",
}


def _key(name: str) -> str:
    return _ALIASES.get(name, name)


class ApiRequest(dict[str, Any]):
    """An API request: a plain ``dict`` (as in Motia) that also allows attribute access.

    Keys, as the core sends them: ``body`` (parsed JSON, form fields, text, or ``bytes`` for a
    binary body such as ``application/octet-stream`` or ``image/png``), ``headers`` (lower-cased
    names; ``str`` or ``list[str]`` values), ``pathParams``, ``queryParams`` (``str`` or
    ``list[str]`` values) and ``rawBody`` (the body as text; the same ``bytes`` for a binary body).

    ``req["body"]`` and ``req.body`` are the same thing, and so are ``req.path_params`` /
    ``req.pathParams``, ``req.query_params`` / ``req.queryParams`` and ``req.raw_body`` /
    ``req.rawBody``. Keys that middleware adds are attributes too (``req["user"] = u`` then
    ``req.user``), and setting an attribute sets the key. Because it *is* a dict, ``json.dumps``,
    ``isinstance(req, dict)`` and ``req.get("pathParams", {})`` work unchanged.
    """

    __slots__ = ()

    @property
    def body(self) -> Any:
        return self.get("body")

    @body.setter
    def body(self, value: Any) -> None:
        self["body"] = value

    @property
    def headers(self) -> dict[str, Any]:
        value: dict[str, Any] = self.setdefault("headers", {})
        return value

    @headers.setter
    def headers(self, value: dict[str, Any]) -> None:
        self["headers"] = value

    @property
    def path_params(self) -> dict[str, str]:
        value: dict[str, str] = self.setdefault("pathParams", {})
        return value

    @path_params.setter
    def path_params(self, value: dict[str, str]) -> None:
        self["pathParams"] = value

    @property
    def query_params(self) -> dict[str, Any]:
        value: dict[str, Any] = self.setdefault("queryParams", {})
        return value

    @query_params.setter
    def query_params(self, value: dict[str, Any]) -> None:
        self["queryParams"] = value

    @property
    def raw_body(self) -> str | bytes:
        value = self.get("rawBody")
        if isinstance(value, bytes):  # a binary body, exactly as received
            return value
        return "" if value is None else str(value)

    @raw_body.setter
    def raw_body(self, value: str | bytes) -> None:
        self["rawBody"] = value

    # camelCase spellings, as Motia's TS API names them.
    pathParams = path_params
    queryParams = query_params
    rawBody = raw_body

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not properties or dict methods.
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[_key(name)]
        except KeyError:
            raise AttributeError(f"request has no field {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[_key(name)] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[_key(name)]
        except KeyError:
            raise AttributeError(f"request has no field {name!r}") from None
