"""A tiny CLIP checkpoint written to disk, to test the CLIP backend offline.

``write_tiny_clip`` writes a randomly initialised one (shapes and plumbing); ``train_tiny_clip``
teaches it, in a few seconds on CPU, to match captions such as "a red square" with photos of
coloured squares, so tests can check that text and photos really share one space.
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 40),
    "blue": (30, 40, 220),
    "yellow": (240, 220, 30),
    "black": (15, 15, 15),
    "white": (245, 245, 245),
}


def caption(colour: str) -> str:
    """The caption the tiny CLIP is trained to match with a photo of a ``colour`` square."""
    return f"a {colour} square"


def colour_square(colour: str, rng: random.Random) -> Image.Image:
    """A 48x48 photo: a square of a jittered shade of ``colour``, of random size and place, on grey."""
    shade = tuple(min(255, max(0, c + rng.randint(-25, 25))) for c in COLOURS[colour])
    photo = Image.new("RGB", (48, 48), tuple(rng.randint(100, 160) for _ in range(3)))
    side = rng.randint(28, 44)
    x, y = rng.randint(0, 48 - side), rng.randint(0, 48 - side)
    photo.paste(shade, (x, y, x + side, y + side))
    return photo


def train_tiny_clip(folder: Path, steps: int = 150, seed: int = 0) -> Path:
    """Write a tiny CLIP to ``folder`` and train it contrastively on captioned colour squares."""
    import torch
    from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizer

    write_tiny_clip(folder)
    model = CLIPModel.from_pretrained(folder)
    text = CLIPTokenizer.from_pretrained(folder)(
        [caption(c) for c in COLOURS], padding=True, return_tensors="pt"
    )
    processor = CLIPImageProcessor.from_pretrained(folder)
    rng = random.Random(seed)
    torch.manual_seed(seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):  # a fresh photo of every colour each step, so shade and place do not matter
        photos = [colour_square(c, rng) for c in COLOURS]
        pixels = processor(images=photos, return_tensors="pt")["pixel_values"]
        loss = model(**text, pixel_values=pixels, return_loss=True).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval().save_pretrained(folder)
    return folder


def write_tiny_clip(folder: Path, projection_dim: int = 16) -> Path:
    """Save a tiny transformers CLIPModel, a byte-level tokenizer and an image processor to ``folder``."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    symbols = _byte_symbols()
    vocab = {s: i for i, s in enumerate(symbols)}
    vocab.update({s + "</w>": len(symbols) + i for i, s in enumerate(symbols)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[])
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "bos_token_id": vocab["<|startoftext|>"],
            "eos_token_id": vocab["<|endoftext|>"],
            "pad_token_id": vocab["<|endoftext|>"],
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=projection_dim,
    )
    CLIPModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder
    )
    return folder


def _byte_symbols() -> list[str]:
    """The 256 printable stand-ins GPT-2/CLIP byte-level BPE uses for bytes."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    codes = keep[:]
    extra = 0
    for byte in range(256):
        if byte not in keep:
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]
