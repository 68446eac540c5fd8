"""``shopfuse eval copy`` end to end through Typer, on a tiny app holding just the command."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from shopfuse.cli.copy_eval import eval_copy


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("copy")(eval_copy)
    app.command("noop")(lambda: None)  # two commands: the group keeps "copy" as a sub-command name
    return app


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_eval_copy_writes_every_block(tmp_path: Path) -> None:
    cands = _jsonl(
        tmp_path / "copy.jsonl",
        [
            {"id": "a", "text": "这款红色连衣裙采用雪纺面料，最显瘦。"},
            {"id": "b", "text": "牛仔外套，简约百搭，帅气十足。"},
            {"id": "extra", "text": "没有参考文案的商品"},
        ],
    )
    refs = _jsonl(
        tmp_path / "ref.jsonl",
        [
            {"id": "a", "text": "白色雪纺连衣裙，清新优雅，收腰设计显得身材修长。"},
            {"id": "b", "texts": ["这款牛仔外套简约百搭，帅气十足。", "牛仔外套，春秋百搭。"]},
        ],
    )
    catalog = _jsonl(
        tmp_path / "cat.jsonl",
        [
            {"id": "a", "attributes": {"类型": "连衣裙", "颜色": "白色", "材质": "雪纺"}},
            {"id": "b", "attributes": {"类型": "外套", "材质": ["牛仔布"]}},
        ],
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text("banned: [最]\nzh:\n  max_chars: 40\n", encoding="utf-8")
    out = tmp_path / "report.json"
    args = ["copy", "--candidates", str(cands), "--references", str(refs), "--catalog", str(catalog)]
    result = CliRunner().invoke(_app(), [*args, "--rules", str(rules), "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["lang"] == "zh" and report["scored"] == 2
    assert report["candidates_without_reference"] == ["extra"]
    assert "without a reference" in result.stderr
    assert set(report["metrics"]) >= {"bleu4", "meteor", "rouge_l", "cider_d", "distinct_1", "distinct_2"}
    assert set(report["chatglm"]) >= {"bleu-4", "rouge-1", "rouge-2", "rouge-l", "published"}
    assert report["facts"]["contradictions"] == 1
    assert report["rules"] == {"violations": 1, "items_with_violations": 1, "by_rule": {"banned": 1}}


def test_eval_copy_refuses_bad_input_with_file_and_line(tmp_path: Path) -> None:
    cands = tmp_path / "copy.jsonl"
    cands.write_text('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', encoding="utf-8")
    refs = _jsonl(tmp_path / "ref.jsonl", [{"id": "a", "text": "x"}])
    result = CliRunner().invoke(_app(), ["copy", "--candidates", str(cands), "--references", str(refs)])
    assert result.exit_code == 2
    assert "copy.jsonl:2: id 'a' already on line 1" in result.stderr
    result = CliRunner().invoke(
        _app(), ["copy", "--candidates", str(refs), "--references", str(refs), "--lang", "fr"]
    )
    assert result.exit_code == 2 and "lang must be zh or en" in result.stderr
