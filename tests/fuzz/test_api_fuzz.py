"""Generated requests against every route of the HTTP API, in process, over 24 real fashion products.

Schemathesis reads the app's OpenAPI schema and generates valid and invalid requests for every
operation (a bounded number each, derandomised, so a run is repeatable); Hypothesis adds hostile
values the schema cannot suggest: NUL bytes, ``..`` and ``/`` in ids, SQL fragments in ``where``,
huge numbers, odd attribute names and media paths in posted products. Every answer must be below
500, arrive within :data:`MAX_SECONDS`, keep the process within :data:`MAX_RSS_GROWTH_MIB` of its
start, never name the store's internal columns, and a refused or unauthenticated write must leave
the product count as it was.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.fuzz.conftest import API_KEY, INTERNAL_NAMES, Service, Store, rss_mib

MAX_SECONDS = 10.0
"""Slowest acceptable answer to one request (generous: a shared 2-core box, first calls load caches)."""
MAX_RSS_GROWTH_MIB = 1536.0
"""Most the test process may grow over the whole module (the encoders are loaded before the start)."""
READ_EXAMPLES = 150
"""Generated requests per read operation (13 of them, ~10-50 ms each)."""
WRITE_EXAMPLES = 80
"""Generated requests per write operation (3 of them; an accepted product costs an ingest, ~0.1-0.5 s)."""
HOSTILE_EXAMPLES = 250
"""Hand-made hostile requests per Hypothesis test below."""


def hostile(examples: int) -> settings:
    """The Hypothesis settings of the hand-made hostile tests: fixed generation, no deadline."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )


WRITES = {("POST", "/products"), ("DELETE", "/products/{product_id}"), ("POST", "/interactions")}
"""Operations that need the API key; all others only read."""
ROUTES = {
    ("GET", "/info"),
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("GET", "/search"),
    ("POST", "/search/image"),
    ("GET", "/products/{product_id}"),
    ("GET", "/products/{product_id}/images/{number}"),
    ("GET", "/products/{product_id}/similar"),
    ("GET", "/recommend/similar/{product_id}"),
    ("GET", "/products/{product_id}/complements"),
    ("GET", "/users/{user_id}/recommendations"),
    ("GET", "/users/{user_id}/profile"),
    ("GET", "/segments"),
    *WRITES,
}
"""The operations this module was written against, each its own test; newer ones are fuzzed together."""


@pytest.fixture(scope="module")
def baseline(store: Store) -> float:
    """The process RSS once the encoders had answered a query, MiB: growth is measured from here."""
    return store.baseline_mib


@pytest.fixture()
def api_schema(service: Service) -> OpenApiSchema:
    """The app's own OpenAPI schema, loaded in process."""
    return schemathesis.openapi.from_asgi("/openapi.json", service.app)


def check_answer(
    service: Service,
    baseline: float,
    status: int,
    body: bytes,
    seconds: float,
    sent: str = "",
    *,
    read: bool = False,
) -> None:
    """The invariants every answer keeps: no 5xx, in time, bounded memory, no internal names; and an
    answer to a ``read`` names no server path (media by their URLs).

    ``sent`` is the request as text: an internal name or path the client sent itself may be echoed back.
    """
    assert status < 500, f"server error {status}: {body[:500]!r}"
    assert seconds < MAX_SECONDS, f"answered in {seconds:.1f} s"
    grown = rss_mib() - baseline
    assert grown < MAX_RSS_GROWTH_MIB, f"process grew by {grown:.0f} MiB"
    if status >= 400:
        leaked = [name for name in INTERNAL_NAMES if name.encode() in body and name not in sent]
        assert not leaked, f"error body names internal columns {leaked}: {body[:500]!r}"
    elif read and str(service.media_root) not in sent:
        assert str(service.media_root).encode() not in body, f"answer names a server path: {body[:500]!r}"


def is_write(method: str, path: str) -> bool:
    """Whether an operation needs the key: the listed writes, and any unlisted route that is not a GET."""
    if (method, path) in ROUTES:
        return (method, path) in WRITES
    return method != "GET" and not path.startswith("/search")


def call(service: Service, baseline: float, case: Case, keyed: bool) -> None:
    """Send ``case`` (a write with the key when ``keyed``) and check the invariants of its answer.

    A write that is refused, or sent without the key, must leave the product count as it was.
    """
    write = is_write(case.method.upper(), case.path)
    before = service.engine.store.count()
    started = time.perf_counter()
    response = case.call(headers={"X-API-Key": API_KEY} if write and keyed else None)
    seconds = time.perf_counter() - started
    sent = repr((case.path_parameters, case.query, case.headers, case.body))
    check_answer(
        service,
        baseline,
        response.status_code,
        response.content,
        seconds,
        sent,
        read=case.method.upper() == "GET",
    )
    if write and (response.status_code >= 400 or not keyed):
        assert service.engine.store.count() == before, f"refused write ({response.status_code}) changed data"


def fuzz_operation(service: Service, baseline: float, schema: OpenApiSchema, method: str, path: str) -> None:
    """Requests that fit the schema and requests that break it, a bounded number, for one operation.

    Where a read's path names a product, a third of the requests name a stored one, so that the
    handlers behind the 404 are reached too (deletes keep to generated ids: the store stays whole).
    """
    operation = schema[path][method]
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if "{product_id}" in path and not is_write(method, path):
        stored = sorted(service.engine.store.hashes())
        strategies.append(
            st.sampled_from(stored).flatmap(
                lambda pid: operation.as_strategy(
                    GenerationMode.POSITIVE, path_parameters={"product_id": pid}
                )
            )
        )
    cases = st.one_of(strategies)

    @settings(
        max_examples=WRITE_EXAMPLES if is_write(method, path) else READ_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failing request is reported as sent
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, keyed=st.booleans())
    def run(case: Case, keyed: bool) -> None:
        call(service, baseline, case, keyed)

    run()


def schema_operations(service: Service) -> set[tuple[str, str]]:
    """``(METHOD, path)`` of every operation in the app's OpenAPI schema."""
    paths = service.client.get("/openapi.json").json()["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item}


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES), ids=[f"{m} {p}" for m, p in sorted(ROUTES)])
def test_generated_requests(
    service: Service, baseline: float, api_schema: OpenApiSchema, method: str, path: str
) -> None:
    assert (method, path) in schema_operations(service), "route gone: update ROUTES"
    fuzz_operation(service, baseline, api_schema, method, path)


def test_generated_requests_on_unlisted_routes(
    service: Service, baseline: float, api_schema: OpenApiSchema
) -> None:
    """Routes added since :data:`ROUTES` was written are fuzzed too (non-GET ones as writes)."""
    for method, path in sorted(schema_operations(service) - ROUTES):
        fuzz_operation(service, baseline, api_schema, method, path)


HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "..",
    "../..",
    "../../etc/passwd",
    "/",
    "//",
    "a/b",
    "%2e%2e%2f",
    "%00",
    "'",
    '"',
    "`",
    "\\",
    "1=1) OR (1=1",
    "gender = 'Men'; DROP TABLE products",
    "' OR '1'='1",
    "_hash IS NOT NULL",
    "_has_image = false",
    "id IN (SELECT id FROM products)",
    "title LIKE '%' ESCAPE '\\'",
    "regexp_like(title, '(a+)+$')",
    "CAST(id AS BIGINT) > 0",
    "gender = 'Men' --",
    "/* */ 1 = 1",
    "x" * 2000,
    "é" * 600,
    "🧥" * 300,
    "\u202eevil",
    "\ufeffbom",
    "\r\nX-Injected: 1",
    "NaN",
    "-1",
    "1e309",
    str(2**63),
    str(2**64),
    "null",
    "{}",
    "[]",
    "%s%n",
    "黑色 T恤",
]
"""Strings that have broken services before: traversal, NUL, quoting, SQL, size, direction marks."""
HUGE_INTS = [0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63)]
"""Integers at and past the usual storage boundaries."""

hostile_text = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=60))
hostile_number = st.one_of(st.sampled_from(HUGE_INTS), st.integers())


def quoted(value: str) -> str:
    """``value`` as one path segment."""
    return urllib.parse.quote(value, safe="")


GET_TEMPLATES: list[tuple[str, str]] = [
    ("/search", "q"),
    ("/search", "where"),
    ("/search", "facets"),
    ("/search", "sort"),
    ("/search", "offset"),
    ("/search", "k"),
    ("/search", "depth"),
    ("/products/{}", ""),
    ("/products/{}/similar", ""),
    ("/products/{}/images/0", ""),
    ("/products/x/images/{}", ""),
    ("/recommend/similar/{}", ""),
    ("/products/{}/complements", ""),
    ("/users/{}/recommendations", ""),
    ("/users/{}/profile", ""),
    ("/segments", "n"),
]
"""Where one hostile value goes: a query parameter of the route, or its path segment (``{}``)."""


@hostile(HOSTILE_EXAMPLES)
@given(template=st.sampled_from(GET_TEMPLATES), text=hostile_text, number=hostile_number)
def test_hostile_values_in_read_requests(
    service: Service, baseline: float, template: tuple[str, str], text: str, number: int
) -> None:
    route, parameter = template
    numeric = parameter in {"offset", "k", "depth", "n"}
    value = str(number) if numeric else text
    params = (
        {"q": "shirt", parameter: value} if route == "/search" else {parameter: value} if parameter else {}
    )
    url = route.format(quoted(value)) if "{}" in route else route
    started = time.perf_counter()
    try:
        response = service.client.get(url, params=params)
    except httpx.InvalidURL:  # the client refuses to send it (control characters): nothing reached the app
        return
    seconds = time.perf_counter() - started
    check_answer(service, baseline, response.status_code, response.content, seconds, value, read=True)


ODD_ATTRIBUTE_NAMES = [
    "a.b",
    "_hash",
    "_vec_text",
    "id",
    "",
    " ",
    "`",
    "a`b",
    "x" * 300,
    "attributes",
    "é",
    "a b",
]
"""Posted keys that are not fields and might become attribute columns."""
media_paths = st.sampled_from(
    [
        "../../tmp/x/secret.jpg",
        "10001.jpg",
        "/etc/passwd",
        "/dev/zero",
        "/proc/self/environ",
        "a\x00b.jpg",
        "",
        ".",
        "x" * 5000,
        "{root}",
        "{root}/10001.jpg",
        "{root}/../metadata.csv",
        "{root}/nope.jpg",
        "{root}/10001.jpg\x00.png",
    ]
)
attribute_values = st.one_of(
    hostile_text,
    hostile_number,
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
products = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(min_size=1, max_size=40))},
    optional={
        "title": st.one_of(hostile_text, st.just("t" * 30_000)),
        "description": hostile_text,
        "image": media_paths,
        "images": st.lists(media_paths, max_size=3),
        "extra": st.dictionaries(
            st.one_of(st.sampled_from(ODD_ATTRIBUTE_NAMES), st.text(max_size=20)),
            attribute_values,
            max_size=6,
        ),
    },
)


@hostile(HOSTILE_EXAMPLES)
@given(product=products, keyed=st.sampled_from([True, True, True, False]))
def test_hostile_products_posted(
    service: Service, baseline: float, product: dict[str, Any], keyed: bool
) -> None:
    root = str(service.media_root)
    body = {k: v for k, v in product.items() if k != "extra"} | product.get("extra", {})
    for name in ("image", "images"):
        if isinstance(body.get(name), str):
            body[name] = body[name].replace("{root}", root)
        elif isinstance(body.get(name), list):
            body[name] = [path.replace("{root}", root) for path in body[name]]
    headers = {"X-API-Key": API_KEY} if keyed else {}
    before = service.engine.store.count()
    started = time.perf_counter()
    payload = json.dumps([body]).encode()  # the json module writes NaN and Infinity; httpx refuses them
    response = service.client.post(
        "/products", content=payload, headers={**headers, "Content-Type": "application/json"}
    )
    seconds = time.perf_counter() - started
    check_answer(service, baseline, response.status_code, response.content, seconds, payload.decode())
    if response.status_code >= 400 or not keyed:
        assert service.engine.store.count() == before, f"refused write ({response.status_code}) changed data"
        return
    report = response.json()
    if report["added"] + report["updated"] + report["unchanged"] != 1:
        return
    if urllib.parse.unquote(str(body["id"])) != str(body["id"]):
        return  # Starlette's TestClient decodes a path twice: "%2e%2e%2f" would reach the app as "../"
    url = f"/products/{quoted(str(body['id']))}"  # acknowledged: it reads back, and a new one deletes
    stored = service.client.get(url)
    assert stored.status_code == 200, f"acknowledged product {body['id']!r} reads as {stored.status_code}"
    assert root not in stored.text, f"the product's media read back as server paths: {stored.text[:500]}"
    if report["added"] == 1:
        deleted = service.client.delete(url, headers=headers)
        assert deleted.status_code == 200 and service.client.get(url).status_code == 404, deleted.text


IMAGE_MODES = ["1", "L", "P", "RGB", "RGBA", "LA", "I;16", "I", "F", "CMYK"]
IMAGE_FORMATS = ["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF", "ICO"]


def odd_image(mode: str, size: tuple[int, int], image_format: str, cut: int, frames: int) -> bytes:
    """An image file in ``mode`` and ``image_format`` (PNG where the pair cannot be saved), optionally
    with several frames, cut to its first ``cut`` bytes when ``cut`` is positive."""
    import io

    from PIL import Image

    image = Image.new(mode, size)
    out = io.BytesIO()
    try:
        extra = [Image.new(mode, size) for _ in range(frames - 1)]
        image.save(out, format=image_format, save_all=bool(extra), append_images=extra)
    except (OSError, ValueError, KeyError, TypeError):
        out = io.BytesIO()
        image.convert("RGB").save(out, format="PNG")
    data = out.getvalue()
    return data[:cut] if cut > 0 else data


@pytest.mark.filterwarnings("ignore:Tag data larger than file:UserWarning")  # PIL, on cut TIFF files
@hostile(HOSTILE_EXAMPLES // 2)
@given(
    mode=st.sampled_from(IMAGE_MODES),
    size=st.tuples(st.integers(1, 3000), st.integers(1, 40)).flatmap(
        lambda wh: st.sampled_from([wh, wh[::-1]])
    ),
    image_format=st.sampled_from(IMAGE_FORMATS),
    cut=st.one_of(st.just(0), st.integers(1, 400)),
    frames=st.integers(1, 3),
    content_type=st.sampled_from(["image/png", "image/jpeg", "image/x-icon", "image/", "image/svg+xml"]),
    form=st.fixed_dictionaries(
        {},
        optional={
            "k": st.sampled_from(["1", "100", "101", "-1", "1e3", str(2**64)]),
            "q": hostile_text,
            "where": st.sampled_from(HOSTILE_TEXT),
            "offset": st.sampled_from(["0", "1000", str(2**63)]),
        },
    ),
)
def test_odd_images_searched(
    service: Service,
    baseline: float,
    mode: str,
    size: tuple[int, int],
    image_format: str,
    cut: int,
    frames: int,
    content_type: str,
    form: dict[str, str],
) -> None:
    data = odd_image(mode, size, image_format, cut, frames)
    started = time.perf_counter()
    response = service.client.post(
        "/search/image", files={"file": ("upload.img", data, content_type)}, data=form
    )
    seconds = time.perf_counter() - started
    check_answer(service, baseline, response.status_code, response.content, seconds, repr(form))
