"""Oversized uploads (issue 13, finding 11b) are refused by their Content-Length before the
body is read: a Chinese 413 page, or the API's JSON error; nothing is stored."""

import io

import pytest
from django.conf import settings
from django.test import Client
from django.urls import resolve

from matching.factories import declare
from matching.models import DeclarationMaterial
from portal.middleware import MULTIPART_ALLOWANCE, request_limit
from products.factories import build_world

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


class CountingStream(io.RawIOBase):
    """The request body as the server's socket would deliver it, counting what is read."""

    def __init__(self, size: int):
        self.size, self.read_bytes = size, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b"\0" * n
        self.read_bytes += n
        return n


def post_with_length(client: Client, url: str, size: int, content_type="multipart/form-data; boundary=xyz"):
    stream = CountingStream(size)
    # (the test client sets CONTENT_TYPE only with a body of its own: given here with the stream)
    response = client.generic(
        "POST", url, b"", CONTENT_TYPE=content_type, CONTENT_LENGTH=str(size), **{"wsgi.input": stream}
    )
    return response, stream


@pytest.fixture
def declaration():
    world = build_world()
    entity, owner = world.entity()
    return declare(world, entity, owner), owner


@pytest.mark.parametrize("url", ["/matching/declarations/{pk}/materials/", "/api/v1/declarations/{pk}/materials/"])
def test_a_material_over_ten_mb_is_refused_before_its_body_is_read(declaration, url):
    declaration, owner = declaration
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    # when the enterprise uploads 11 MB
    response, stream = post_with_length(client, url.format(pk=declaration.pk), 11 * MB)
    # then the answer comes from the Content-Length alone: 413, in Chinese, nothing read or stored
    assert response.status_code == 413
    assert stream.read_bytes == 0
    assert not DeclarationMaterial.objects.exists()
    if url.startswith("/api/"):
        body = response.json()
        assert set(body) == {"code", "message", "errors"} and body["code"] == "request_too_large"
        assert "不能超过 10 MB" in body["message"]
    else:
        assert "上传内容过大" in response.content.decode() and "不能超过 10 MB" in response.content.decode()


def test_a_json_body_over_the_limit_is_refused_the_same_way(declaration):
    declaration, owner = declaration
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    response, stream = post_with_length(client, "/api/v1/declarations/", 12 * MB, content_type="application/json")
    assert response.status_code == 413 and stream.read_bytes == 0 and response.json()["code"] == "request_too_large"


def test_a_body_within_the_limit_reaches_the_view(declaration):
    declaration, owner = declaration
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    response, stream = post_with_length(client, "/api/v1/declarations/", 1 * MB, content_type="application/json")
    assert response.status_code == 400 and stream.read_bytes == 1 * MB  # read, and refused as malformed JSON


def test_each_upload_has_one_declared_limit_consistent_with_its_own_check():
    from entities.forms import MAX_UPLOAD_BYTES as REGISTER_MAX
    from matching.apis import IMPORT_MAX_BYTES
    from matching.materials import MAX_MATERIAL_BYTES
    from matching.views import DeclarationImportView

    def limit(path):
        return request_limit(resolve(path).func, "POST")

    assert settings.UPLOAD_MAX_BYTES == settings.DATA_UPLOAD_MAX_MEMORY_SIZE == MAX_MATERIAL_BYTES == 10 * MB
    assert (
        limit("/matching/declarations/1/materials/") == limit("/api/v1/declarations/1/materials/") == MAX_MATERIAL_BYTES
    )
    assert limit("/entities/imports/") == REGISTER_MAX
    assert limit("/matching/declarations/import/") == DeclarationImportView.MAX_BYTES
    assert limit("/api/v1/declarations/import/") == IMPORT_MAX_BYTES
    assert MULTIPART_ALLOWANCE < 1 * MB
