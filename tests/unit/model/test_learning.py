"""When ingest learns, and which attributes it learns to recognise."""

from __future__ import annotations

from shopfuse.model.learning import MIN_PAIRS, categorical_labels, decide


def test_decide_follows_the_mode_the_size_and_the_changes() -> None:
    assert not decide("off", pairs=10_000, changes=0, trained_on=None).fit
    small = decide("auto", pairs=MIN_PAIRS - 1, changes=0, trained_on=None)
    assert not small.fit and "raw encoders" in small.reason
    assert decide("auto", pairs=MIN_PAIRS, changes=0, trained_on=None).fit
    assert decide("on", pairs=60, changes=0, trained_on=None).fit
    assert not decide("on", pairs=49, changes=0, trained_on=None).fit
    assert not decide("auto", pairs=2000, changes=399, trained_on=2000).fit
    assert decide("auto", pairs=2000, changes=400, trained_on=2000).fit


def test_categorical_labels_are_the_category_like_text_attributes() -> None:
    rows = [
        {"attributes": {"colour": "Red" if i % 2 else "Blue", "sku": f"{i}", "note": None, "audio_tags": "x"}}
        for i in range(40)
    ]
    types = {"colour": "string", "sku": "string", "note": "string", "audio_tags": "string", "size": "int64"}
    # sku: one product per value; note: never set; audio_tags: derived by a modality; size: not text
    assert categorical_labels(rows, types) == ["colour"]
