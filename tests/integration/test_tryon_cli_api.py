"""Try-on end to end on a tiny real store (H&M earrings, necklace, ring and a belt): CLI and API."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import typer
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from shopfuse.engine import Engine
from shopfuse.service import ServiceSettings, create_app
from tests.conftest import HM_MAPPING, write_subset

ROWS = {"earrings": 4537, "necklace": 3535, "ring": 3016, "belt": 1894}
"""0-based data rows of hm-purchases/items.csv."""
EARRINGS, NECKLACE, RING, BELT = "0795850001", "0743098001", "0718968001", "0673396002"
FACE = "001_03.jpg"


@pytest.fixture(scope="module")
def store(hm_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("tryon")
    catalog = write_subset(hm_csv, work / "jewellery.csv", sorted(ROWS.values()))
    folder = work / "store"
    Engine.open(folder).ingest(catalog, HM_MAPPING, progress=False, learn="off")
    return folder


@pytest.fixture(scope="module")
def client(store: Path) -> TestClient:
    app = create_app(Engine.open(store), ServiceSettings(max_upload_bytes=2_000_000))
    return TestClient(app)


def cli() -> typer.Typer:
    from shopfuse.cli.tryon import tryon

    app = typer.Typer()
    app.command()(tryon)
    app.command("noop")(lambda: None)  # two commands: typer keeps "tryon" as a subcommand
    return app


def face(shared_data: Path) -> Path:
    return shared_data / "faces" / "images" / FACE


def test_cli_writes_the_png_and_the_anchors(store: Path, shared_data: Path, tmp_path: Path) -> None:
    out, anchors = tmp_path / "result.png", tmp_path / "anchors.json"
    args = ["tryon", "--store", str(store), "--item", EARRINGS, "--photo", str(face(shared_data))]
    result = CliRunner().invoke(cli(), [*args, "--out", str(out), "--json", str(anchors)])
    assert result.exit_code == 0, result.output
    with Image.open(out) as image, Image.open(face(shared_data)) as source:
        assert image.format == "PNG" and image.size == source.size and image.mode == "RGB"
        assert (
            np.abs(np.asarray(image, np.int16) - np.asarray(source.convert("RGB"), np.int16)) > 40
        ).sum() > 500
    data = json.loads(anchors.read_text(encoding="utf-8"))
    assert data["kind"] == "earrings"
    left, right = data["earrings"]["left"], data["earrings"]["right"]
    assert left[0] < right[0] and 300 < left[0] < 700 and 700 < right[0] < 1100  # photo pixels, as seen
    assert set(data["necklace"]) >= {"center", "left", "right"}
    assert 2.0 < data["scale_px_per_mm"] < 6.0
    assert (store / "tryon").is_dir() and list((store / "tryon").glob("*.png"))  # cut-out cached


def test_cli_kind_override_and_errors(store: Path, shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "necklace.png"
    args = ["tryon", "--store", str(store), "--photo", str(face(shared_data)), "--out", str(out)]
    assert CliRunner().invoke(cli(), [*args, "--item", NECKLACE, "--kind", "necklace"]).exit_code == 0
    refused = CliRunner().invoke(cli(), [*args, "--item", BELT])
    assert refused.exit_code == 2 and "no wearable kind" in refused.output
    missing = CliRunner().invoke(cli(), [*args, "--item", "nope"])
    assert missing.exit_code == 2 and "no product 'nope'" in missing.output
    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (600, 600), (200, 200, 200)).save(blank)
    args[args.index("--photo") + 1] = str(blank)
    no_face = CliRunner().invoke(cli(), [*args, "--item", EARRINGS])
    assert no_face.exit_code == 2 and "no face" in no_face.output


def post(client: TestClient, photo: bytes, item: str, **form: str) -> object:
    return client.post(
        "/tryon", files={"photo": ("me.jpg", photo, "image/jpeg")}, data={"item": item, **form}
    )


def test_api_returns_a_png_for_each_face_kind(client: TestClient, shared_data: Path) -> None:
    photo = face(shared_data).read_bytes()
    for item in (EARRINGS, NECKLACE):
        response = post(client, photo, item)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        with Image.open(io.BytesIO(response.content)) as image:
            assert image.format == "PNG" and image.size == (1350, 1350)
    assert response.headers["x-tryon-kind"] == "necklace"


def test_api_errors(client: TestClient, shared_data: Path) -> None:
    photo = face(shared_data).read_bytes()
    assert post(client, photo, "nope").status_code == 404
    belt = post(client, photo, BELT)
    assert belt.status_code == 422 and belt.json()["detail"]["reason"] == "not_wearable"
    buffer = io.BytesIO()
    Image.new("RGB", (600, 600), (200, 200, 200)).save(buffer, format="JPEG")
    no_face = post(client, buffer.getvalue(), EARRINGS)
    assert no_face.status_code == 422 and no_face.json()["detail"]["reason"] == "no_face"
    no_hand = post(client, photo, RING)  # a portrait without a hand, for a ring
    assert no_hand.status_code == 422 and no_hand.json()["detail"]["reason"] == "no_hand"
    tiny = io.BytesIO()
    Image.open(face(shared_data)).resize((100, 100)).save(tiny, format="JPEG")
    assert post(client, tiny.getvalue(), EARRINGS).json()["detail"]["reason"] == "photo_too_small"
    assert post(client, b"x" * 2_000_001, EARRINGS).status_code == 413
    assert post(client, b"not an image", EARRINGS).status_code == 400


def test_api_tells_which_products_are_wearable(client: TestClient) -> None:
    assert client.get(f"/tryon/kind/{EARRINGS}").json() == {
        "id": EARRINGS,
        "kind": "earrings",
        "wearable": True,
    }
    assert client.get(f"/tryon/kind/{RING}").json()["kind"] == "ring"
    assert client.get(f"/tryon/kind/{BELT}").json()["wearable"] is False
    assert client.get("/tryon/kind/nope").status_code == 404
