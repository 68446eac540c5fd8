"""Video and sound on a constructed test set: moment retrieval, speech recognition, audio tags, speed.

Real product videos are scarce offline, so the clips are CONSTRUCTED from real catalogue photos
(``../shared/data/fashion-products``) by :mod:`shopfuse.media.compose`: each clip shows three
products (cuts between them, every other clip pans across its middle shot), with a soundtrack
that cycles through narrated (espeak-ng reading the shown products' own titles, each at the start
of its shot), music (synthetic) and silent. The ground truth is which product is on screen when.

Measured:
- photo -> moment (no model): the product's catalogue photo as query; R@1 / R@10 over all
  moments, and whether the returned time range is the shot that shows the product;
- text -> moment (with a shop model trained on the catalogue's own photo/title pairs): the
  product's title as query, same figures;
- word error rate of the narration, and of the 33 real spoken clips of ``../shared/data/speech``;
- audio tag accuracy: the ``audio_speech`` / ``audio_music`` flags against the soundtrack kind;
- ingest speed in seconds of video per second on this machine, next to the image encoder alone on
  the same number of frames, and peak memory.

    python benchmarks/video_moments.py --clips 24 --train 1500
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mib, print_table, write_results

from shopfuse.config import ComponentSpec, EngineConfig
from shopfuse.demo import FASHION_MAPPING, find_data
from shopfuse.encoders.speech import WhisperReader
from shopfuse.engine import Engine
from shopfuse.evaluation.wer import word_error_rate
from shopfuse.media.audio import SAMPLE_RATE, read_audio
from shopfuse.media.compose import Shot, compose_video, music, speak

SHOT_SECONDS = 4.0
SOUNDTRACKS = ("narrated", "music", "silent")


def build_test_set(catalog: Path, out: Path, clips: int, seed: int) -> tuple[Path, list[dict]]:
    """Write the clips and ``clips.jsonl``; return the catalogue and the per-shot truth."""
    with catalog.open(newline="", encoding="utf-8") as handle:
        rows = [
            r for r in csv.DictReader(handle) if r["masterCategory"] in ("Apparel", "Footwear", "Accessories")
        ]
    rng = random.Random(seed)
    by_type: dict[str, list[dict]] = {}
    for row in rows:
        by_type.setdefault(row["articleType"], []).append(row)
    types = [t for t, items in by_type.items() if len(items) >= 20]
    truth, lines = [], []
    for n in range(clips):
        kinds = rng.sample(types, 3)
        shown = [rng.choice(by_type[k]) for k in kinds]
        soundtrack = SOUNDTRACKS[n % 3]
        shots = [
            Shot(str(catalog.parent / r["image"]), SHOT_SECONDS, pan=(n % 2 == 0 and i == 1))
            for i, r in enumerate(shown)
        ]
        sound = None
        complete = True
        if soundtrack == "narrated":
            sound = np.zeros(int(3 * SHOT_SECONDS * SAMPLE_RATE), np.float32)
            for i, r in enumerate(shown):
                said = speak(r["productDisplayName"], rate=190)
                room = int(SHOT_SECONDS * SAMPLE_RATE)
                complete = complete and len(said) <= room  # a cut-off title cannot be read back whole
                start = int(i * SHOT_SECONDS * SAMPLE_RATE)
                sound[start : start + min(len(said), room)] = said[:room]
        elif soundtrack == "music":
            sound = music(3 * SHOT_SECONDS, seed=n)
        clip_id = f"clip-{n:03d}"
        compose_video(shots, out / f"{clip_id}.mp4", sound=sound)
        lines.append(json.dumps({"id": clip_id, "video": f"{clip_id}.mp4"}))
        for i, r in enumerate(shown):
            truth.append(
                {
                    "clip": clip_id,
                    "product": r["id"],
                    "title": r["productDisplayName"],
                    "photo": str(catalog.parent / r["image"]),
                    "start": i * SHOT_SECONDS,
                    "end": (i + 1) * SHOT_SECONDS,
                    "soundtrack": soundtrack,
                    "narration_complete": complete,
                }
            )
    path = out / "clips.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, truth


def moment_scores(engine: Engine, truth: list[dict], *, photo: bool) -> dict[str, float]:
    """R@1 / R@10 of the right clip among moments, and the share of right clips with the right shot."""
    r1 = r10 = right_time = 0
    for shot in truth:
        query = shot["photo"] if photo else shot["title"]
        found = engine.search_moments(query, k=10, photo=photo)
        clips = [m.product_id for m in found]
        r1 += bool(clips) and clips[0] == shot["clip"]
        r10 += shot["clip"] in clips
        first = next((m for m in found if m.product_id == shot["clip"]), None)
        if first is not None:
            overlap = max(0.0, min(first.end, shot["end"]) - max(first.start, shot["start"]))
            right_time += overlap >= 0.5 * (shot["end"] - shot["start"])
    n = len(truth)
    return {
        "R@1": round(r1 / n, 4),
        "R@10": round(r10 / n, 4),
        "right_time_range_when_clip_found": round(right_time / max(r10, 1), 4),
        "queries": n,
    }


def stage_seconds(engine: Engine, videos: list[Path]) -> dict[str, float]:
    """Where ingest time goes: decoding and shots, keyframe encoding, speech, sound tags."""
    from shopfuse.media.video import read_video

    components = engine.components()
    stages = ("decode_and_shots", "keyframes_image_encoder", "speech_vad_whisper", "yamnet_mfcc")
    out = dict.fromkeys(stages, 0.0)
    for path in videos:
        t0 = time.perf_counter()
        summary = read_video(path, components.video)
        out["decode_and_shots"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        assert components.image is not None
        components.image.encode_images([s.keyframe for s in summary.segments])
        out["keyframes_image_encoder"] += time.perf_counter() - t0
        sound = read_audio(path, required=False)
        if sound is None:
            continue
        t0 = time.perf_counter()
        assert components.speech is not None and components.sound is not None
        components.speech.transcribe([sound.samples])
        out["speech_vad_whisper"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        components.sound.encode_sounds([sound.samples])
        out["yamnet_mfcc"] += time.perf_counter() - t0
    return {k: round(v, 2) for k, v in out.items()}


def main() -> None:
    """Build the test set, ingest it, measure, write ``results/video_moments.json``."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--train", type=int, default=1500, help="catalogue rows the shop model learns from")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=None, help="folder for clips and stores (default: temp)")
    args = parser.parse_args()
    data = find_data()
    catalog = data / "fashion-products" / "metadata.csv"
    work = args.work or Path(tempfile.mkdtemp(prefix="shopfuse-video-"))
    shutil.rmtree(work / "stores", ignore_errors=True)
    clips_dir = work / "clips"
    clips_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    clips, truth = build_test_set(catalog, clips_dir, args.clips, args.seed)
    build_seconds = time.perf_counter() - t0
    video_seconds = 3 * SHOT_SECONDS * args.clips

    # 1. the clips alone, default encoders, no model
    engine = Engine.open(work / "stores" / "plain", EngineConfig())
    t0 = time.perf_counter()
    report = engine.ingest(clips, progress=False)
    ingest_seconds = time.perf_counter() - t0
    frames = engine.moments.store().count()  # type: ignore[union-attr]
    from PIL import Image

    photos = [Image.open(s["photo"]).convert("RGB") for s in truth][:frames]
    assert engine.image_encoder is not None
    t0 = time.perf_counter()
    engine.image_encoder.encode_images(photos)
    image_only = time.perf_counter() - t0
    photo_scores = moment_scores(engine, truth, photo=True)
    rss_after_ingest = peak_rss_mib()
    stages = stage_seconds(engine, sorted(clips_dir.glob("clip-*.mp4")))

    # 2. speech and sound
    rows = {r["id"]: r for r in engine.store.get([f"clip-{n:03d}" for n in range(args.clips)])}
    first_shot = {s["clip"]: s for s in truth[::3]}
    narrated = [
        c for c in rows if first_shot[c]["soundtrack"] == "narrated" and first_shot[c]["narration_complete"]
    ]
    narration_wer = [
        word_error_rate(
            " ".join(s["title"] for s in truth if s["clip"] == c),
            rows[c]["attributes"].get("speech_text") or "",
        )
        for c in narrated
    ]
    flags = {"speech": 0, "music": 0}
    for c, row in rows.items():
        kind = truth[3 * int(c.split("-")[1])]["soundtrack"]
        attrs = row["attributes"]
        flags["speech"] += bool(attrs.get("audio_speech")) == (kind == "narrated")
        flags["music"] += bool(attrs.get("audio_music")) == (kind == "music")
    real_wer: dict[str, list[float]] = {}
    for model in ("tiny.en", "base"):
        try:
            reader = WhisperReader(model=model)
            reader.folder  # noqa: B018  (fails here when the model's package is missing)
        except ImportError:
            continue
        scores = real_wer.setdefault(model, [])
        for split in ("train", "test"):
            folder = data / "speech" / split
            table = folder / "transcriptions.tsv"
            with table.open(encoding="utf-8") as handle:
                said = {row[0]: row[1] for row in csv.reader(handle, delimiter="\t") if row}
            for wav in sorted(folder.glob("*.wav")):
                reference = said[wav.name]
                sound = read_audio(wav)
                assert sound is not None
                (heard,) = reader.transcribe([sound.samples])
                scores.append(word_error_rate(reference, heard.text))

    # 3. text -> moment through a shop model learned from the catalogue's own photo/title pairs
    from shopfuse.workflows import train_model

    subset = work / "train.csv"
    shown = {s["product"] for s in truth}
    with catalog.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        chosen = [r for i, r in enumerate(reader) if i < args.train or r["id"] in shown]
    with subset.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(chosen[0]))
        writer.writeheader()
        for r in chosen:
            writer.writerow({**r, "image": str(catalog.parent / r["image"])})
    t0 = time.perf_counter()
    train_model(
        subset,
        work / "model",
        mapping=FASHION_MAPPING,
        alignment=ComponentSpec(name="ridge"),
        fusion=ComponentSpec(name="weighted"),
        features_dir=work / "features",
        tune_backbone="off",
        progress=False,
        echo=lambda _: None,
    )
    train_seconds = time.perf_counter() - t0
    modelled = Engine.open(work / "stores" / "model", EngineConfig(model=str(work / "model")))
    modelled.ingest(clips, progress=False)
    text_scores = moment_scores(modelled, truth, photo=False)

    results = {
        "test_set": {
            "clips": args.clips,
            "video_seconds": video_seconds,
            "build_seconds": round(build_seconds, 1),
        },
        "photo_to_moment": photo_scores,
        "text_to_moment_with_model": {
            **text_scores,
            "train_rows": len(chosen),
            "train_seconds": round(train_seconds, 1),
        },
        "speech": {
            "narration_wer_mean": round(float(np.mean(narration_wer)), 4) if narration_wer else None,
            "narrated_clips": len(narration_wer),
            "real_speech_wer_mean": {m: round(float(np.mean(v)), 4) for m, v in real_wer.items()},
            "real_speech_clips": max((len(v) for v in real_wer.values()), default=0),
        },
        "audio_tags": {
            "speech_flag_accuracy": round(flags["speech"] / len(rows), 4),
            "music_flag_accuracy": round(flags["music"] / len(rows), 4),
            "clips": len(rows),
        },
        "speed": {
            "ingest_seconds": round(ingest_seconds, 1),
            "video_seconds_per_second": round(video_seconds / ingest_seconds, 2),
            "moments": frames,
            "image_encoder_alone_seconds_for_as_many_frames": round(image_only, 2),
            "ingest_problems": len(report.problems),
            "stage_seconds": stages,
            "peak_rss_mib_after_ingest_and_search": round(rss_after_ingest, 1),
            "peak_rss_mib_with_training": round(peak_rss_mib(), 1),
        },
    }
    print_table(
        "video moments (constructed clips)",
        ["query", "R@1", "R@10", "right time range"],
        [
            [
                "photo",
                photo_scores["R@1"],
                photo_scores["R@10"],
                photo_scores["right_time_range_when_clip_found"],
            ],
            [
                "text (model)",
                text_scores["R@1"],
                text_scores["R@10"],
                text_scores["right_time_range_when_clip_found"],
            ],
        ],
    )
    print(json.dumps(results, indent=2))
    write_results("video_moments", vars(args) | {"work": str(work)}, results)


if __name__ == "__main__":
    main()
