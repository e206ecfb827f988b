"""The upload limit (max_upload_bytes: api/limits.py and Starlette's body limit): a body
over the limit is refused with a 413 problem before the multipart parser spools it, whether
it declares its length, streams without one (chunked) or lies about it; smaller uploads
and GETs are served as before."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import models
from api.app import create_app
from inspect_engine.settings import Environment, Settings
from tests.api.conftest import Service

LIMIT = 64 * 1024
ITEMS = "/supervisor/imports/items"
HEADER = "item_code,department,title,legal_basis,kind\n"
BOUNDARY = "upload-limit-test-boundary"


@pytest.fixture(scope="module")
def limited(service: Service) -> Iterator[TestClient]:
    """The same database and users as `service`, served by an app with a 64 KiB limit."""
    settings = Settings(
        database_url=service.url, environment=Environment.TEST, max_upload_bytes=LIMIT
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _items_csv(prefix: str, size: int) -> bytes:
    """A valid items.csv of SAMR items, as close to `size` bytes as whole rows allow."""
    lines = [HEADER]
    total = len(HEADER.encode())
    number = 0
    while True:
        line = f"{prefix}{number:05d},SAMR,广告发布检查 {number},《广告法》第四十九条,general\n"
        if total + len(line.encode()) > size:
            return "".join(lines).encode()
        lines.append(line)
        total += len(line.encode())
        number += 1


def _rows(text: bytes) -> int:
    return text.count(b"\n") - 1


def _item_count(service: Service) -> int:
    with service.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(models.Item)) or 0)


def _multipart(content: bytes) -> bytes:
    return (
        (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="items.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def _in_chunks(body: bytes, size: int = 8192) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/content-too-large"
    assert problem["status"] == 413
    assert problem["instance"] == ITEMS
    assert "0.0625 MB" in problem["detail"]
    assert "INSPECT_MAX_UPLOAD_BYTES" in problem["detail"]


def test_an_upload_just_under_the_limit_is_imported(service: Service, limited: TestClient) -> None:
    content = _items_csv("SAMR-UNDER", LIMIT - 1024)
    body = _multipart(content)
    assert LIMIT - 1200 < len(body) <= LIMIT
    before = _item_count(service)
    response = limited.post(
        ITEMS,
        content=body,
        headers={
            **service.city.headers("sup_samr"),
            "content-type": f"multipart/form-data; boundary={BOUNDARY}",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["new_rows"] == _rows(content)
    assert _item_count(service) == before + _rows(content)


def test_an_upload_over_the_declared_limit_is_refused(
    service: Service, limited: TestClient
) -> None:
    content = _items_csv("SAMR-OVER", 2 * LIMIT)
    files = {"file": ("items.csv", content, "text/csv")}
    before = _item_count(service)
    response = limited.post(ITEMS, files=files, headers=service.city.headers("sup_samr"))
    _assert_too_large(response)
    assert response.headers["connection"] == "close"
    assert _item_count(service) == before  # nothing imported
    # the control: the very same file, under the default limit, is a good import
    accepted = service.client.post(ITEMS, files=files, headers=service.city.headers("sup_samr"))
    assert accepted.status_code == 200, accepted.text
    assert _item_count(service) == before + _rows(content)


def test_a_chunked_upload_over_the_limit_is_refused(service: Service, limited: TestClient) -> None:
    content = _items_csv("SAMR-CHUNK", 2 * LIMIT)
    request = limited.build_request(
        "POST",
        ITEMS,
        content=_in_chunks(_multipart(content)),
        headers={
            **service.city.headers("sup_samr"),
            "content-type": f"multipart/form-data; boundary={BOUNDARY}",
        },
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    before = _item_count(service)
    _assert_too_large(limited.send(request))
    assert _item_count(service) == before


def test_a_body_longer_than_its_content_length_is_refused(
    service: Service, limited: TestClient
) -> None:
    content = _items_csv("SAMR-LIAR", 2 * LIMIT)
    response = limited.post(
        ITEMS,
        content=_in_chunks(_multipart(content)),
        headers={
            **service.city.headers("sup_samr"),
            "content-type": f"multipart/form-data; boundary={BOUNDARY}",
            "content-length": "1000",
        },
    )
    _assert_too_large(response)


def test_a_get_is_unaffected(service: Service, limited: TestClient) -> None:
    path = "/supervisor/items?limit=500"
    response = limited.get(path, headers=service.city.headers("sup_samr"))
    assert response.status_code == 200
    assert response.json() == service.get(path, "sup_samr").json()


class CountingBody:
    """A 60 MB multipart body that counts how much of it the server has taken."""

    def __init__(self, megabytes: int = 60, chunk: int = 1 << 20) -> None:
        self.chunks = megabytes
        self.chunk = b"x" * chunk
        self.taken = 0

    def __iter__(self) -> Iterator[bytes]:
        head = (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="items.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        self.taken += len(head)
        yield head
        for _ in range(self.chunks):
            self.taken += len(self.chunk)
            yield self.chunk
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.taken += len(tail)
        yield tail


@pytest.mark.parametrize(
    ("user", "path", "status"),
    [
        (None, ITEMS, 401),
        ("wrong-token", ITEMS, 401),
        ("insp_s01", ITEMS, 403),
        ("auditor", "/supervisor/plans/2027-02/tasks", 403),
        (None, "/supervisor/results/import", 401),
    ],
)
def test_a_60_mb_upload_is_refused_before_its_body_is_read(
    service: Service, user: str | None, path: str, status: int
) -> None:
    body = CountingBody()
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    if user == "wrong-token":
        headers["authorization"] = "Bearer ie_not-a-token"
    elif user is not None:
        headers.update(service.city.headers(user))
    response = service.client.post(path, content=iter(body), headers=headers)
    assert response.status_code == status, response.text
    assert body.taken < 64 * 1024  # not a byte of the 60 MB file (before: all of it)
    # the control: an allowed sender's body is read in full
    allowed = CountingBody(megabytes=1)
    done = service.client.post(
        ITEMS,
        content=iter(allowed),
        headers={**service.city.headers("sup_samr"), "content-type": headers["content-type"]},
    )
    assert done.status_code == 422, done.text  # read, then refused as a bad items.csv
    assert allowed.taken > 1 << 20
