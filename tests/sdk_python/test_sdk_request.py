from __future__ import annotations

import copy
import json
import pickle

import pytest

from motia import ApiRequest


def _request() -> ApiRequest:
    return ApiRequest(
        body={"name": "x"},
        headers={"content-type": "application/json"},
        pathParams={"id": "7"},
        queryParams={"q": ["a", "b"]},
        rawBody='{"name":"x"}',
    )


def test_item_and_attribute_access_are_the_same() -> None:
    req = _request()
    assert req.body is req["body"]
    assert req.headers is req["headers"]
    assert req.path_params is req["pathParams"] is req.pathParams
    assert req.query_params is req["queryParams"] is req.queryParams
    assert req.raw_body == req["rawBody"] == req.rawBody


def test_it_stays_a_plain_dict() -> None:
    req = _request()
    assert isinstance(req, dict)
    assert json.loads(json.dumps(req)) == dict(req)
    assert req.get("pathParams", {}) == {"id": "7"}
    assert copy.deepcopy(req) == req and type(copy.deepcopy(req)) is ApiRequest
    assert pickle.loads(pickle.dumps(req)) == req


def test_setting_attributes_sets_keys() -> None:
    req = _request()
    req.user = {"id": 1}
    req.body = {"replaced": True}
    req.path_params = {"id": "8"}
    assert req["user"] == {"id": 1} and req.user == {"id": 1}
    assert req["body"] == {"replaced": True}
    assert req["pathParams"] == {"id": "8"}
    del req.user
    assert "user" not in req


def test_missing_fields() -> None:
    req = ApiRequest()
    assert req.body is None
    assert req.raw_body == ""
    assert req.headers == {} and "headers" in req  # created so that mutations stick
    with pytest.raises(AttributeError, match="request has no field 'user'"):
        _ = req.user
    assert not hasattr(req, "__missing_dunder__")
