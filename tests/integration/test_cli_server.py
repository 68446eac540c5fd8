"""``shopfuse search --server``: the same answers as a local store, through a running ``serve``.

The server is ``create_app`` on the session's fashion store under uvicorn in a thread, on a free
port. Also ``SHOPFUSE_STORE`` / ``SHOPFUSE_SERVER`` as defaults and the errors a client can meet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopfuse.cli import app
from shopfuse.engine import Engine
from shopfuse.service import create_app
from tests.helpers.processes import free_port, serving

runner = CliRunner()
NO_ENV: dict[str, str | None] = {"SHOPFUSE_STORE": None, "SHOPFUSE_SERVER": None}


def run(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={**NO_ENV, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def ids(out: str) -> list[str]:
    return [hit["id"] for hit in json.loads(out)]


@pytest.fixture(scope="module")
def server(fashion_engine: Engine) -> Iterator[str]:
    """uvicorn on a free port in a thread, serving the 120-product store."""
    with serving(create_app(fashion_engine)) as url:
        yield url


@pytest.mark.parametrize(
    "options",
    [
        ["shoes", "-k", "5"],
        ["手表", "-k", "3", "--where", "gender = 'Men'"],
        ["Puma shoes", "-k", "8", "--mode", "hybrid", "--fusion", "weighted", "--lexical-weight", "0.3"],
        ["watch", "-k", "4", "--mode", "lexical"],
    ],
)
def test_text_search_through_the_server_matches_the_local_store(
    fashion_engine: Engine, server: str, options: list[str]
) -> None:
    code, local, _ = run("search", "--store", str(fashion_engine.path), *options, "--json")
    assert code == 0
    code, remote, err = run("search", "--server", server, *options, "--json")
    assert code == 0, err
    assert ids(remote) == ids(local) and ids(local)
    assert [h["contributions"] for h in json.loads(remote)] == [h["contributions"] for h in json.loads(local)]
    first, local_first = json.loads(remote)[0], json.loads(local)[0]
    assert first["attributes"] == local_first["attributes"]
    # the photo as the server's URL of it (or, from a server that answers paths, the same path)
    assert first["image"] == local_first["image"] or first["image"].startswith(f"{server}/products/")


def test_table_output_through_the_server_is_the_local_table(fashion_engine: Engine, server: str) -> None:
    code, local, _ = run("search", "--store", str(fashion_engine.path), "red dress", "-k", "3")
    assert code == 0
    code, remote, _ = run("search", "--server", server.removeprefix("http://") + "/", "red dress", "-k", "3")
    assert code == 0
    assert remote == local and remote.startswith("  1. ")


def test_photo_search_through_the_server_matches_the_local_store(fashion_engine: Engine, server: str) -> None:
    [product] = fashion_engine.store.get([fashion_engine.store.vectors("image")[0][3]])
    options = ["--image", product["image"], "-k", "5", "--json"]
    code, local, _ = run("search", "--store", str(fashion_engine.path), *options)
    assert code == 0
    code, remote, err = run("search", "--server", server, *options)
    assert code == 0, err
    assert ids(remote) == ids(local) and ids(remote)[0] == product["id"]


def test_environment_variables_give_the_store_and_the_server(fashion_engine: Engine, server: str) -> None:
    store = str(fashion_engine.path)
    code, expected, _ = run("search", "--store", store, "shoes", "-k", "5", "--json")
    code, out, err = run("search", "shoes", "-k", "5", "--json", env={"SHOPFUSE_STORE": store})
    assert code == 0, err
    assert ids(out) == ids(expected)
    code, out, _ = run("info", "--json", env={"SHOPFUSE_STORE": store})
    assert code == 0 and json.loads(out)["products"] == fashion_engine.store.count()
    code, out, err = run("search", "shoes", "-k", "5", "--json", env={"SHOPFUSE_SERVER": server})
    assert code == 0, err
    assert ids(out) == ids(expected)
    # both from the environment: the server; a --store typed beats a server from the environment
    dead = f"http://127.0.0.1:{free_port()}"
    code, _, err = run("search", "shoes", env={"SHOPFUSE_SERVER": dead, "SHOPFUSE_STORE": store})
    assert code != 0 and "cannot reach" in err
    code, out, _ = run(
        "search", "--store", store, "shoes", "-k", "5", "--json", env={"SHOPFUSE_SERVER": dead}
    )
    assert code == 0 and ids(out) == ids(expected)
    code, out, _ = run(
        "search", "--server", server, "shoes", "-k", "5", "--json", env={"SHOPFUSE_STORE": "/nope"}
    )
    assert code == 0 and ids(out) == ids(expected)


def test_errors_are_one_line_and_a_failing_exit(fashion_engine: Engine, server: str, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    code, out, err = run("search", "--server", dead, "shoes")
    assert code != 0 and out == ""
    assert err.startswith(f"error: cannot reach the shopfuse server at {dead}") and err.count("\n") == 1
    assert "Traceback" not in err
    code, _, err = run("search", "--server", server, "shoes", "--where", "price >>> 3")
    assert (
        code != 0
        and err.startswith(f"error: the server at {server} answered 400: ")
        and "Traceback" not in err
    )
    code, _, err = run("search", "--server", server, "shoes", "-k", "5000")
    assert code != 0 and "answered 400: k may be at most" in err
    code, _, err = run("search", "--server", server, "--image", str(tmp_path / "missing.jpg"))
    assert code != 0 and "no such file" in err
    code, _, err = run("search", "--server", server, "--store", str(fashion_engine.path), "shoes")
    assert code != 0 and "not both" in err
    code, _, err = run("search", "--server", server, "shoes", "--text-encoder", "minilm")
    assert code != 0 and "--text-encoder" in err
    code, _, err = run("search", "shoes")
    assert code == 2 and "SHOPFUSE_STORE" in err and "--server" in err
    code, _, err = run("info")
    assert code == 2 and "Missing option '--store'" in err
