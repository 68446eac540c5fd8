"""Impression logs and action tables: bad values named, CSV and Parquet, the real Open Bandit files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopfuse.creative.logs import LogMapping, read_actions, read_log
from shopfuse.errors import CatalogError, ConfigError

HEADER = "timestamp,action,click,propensity,segment,age\n"


def write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def good_rows() -> str:
    return (
        "2026-01-05 10:00:00,a,1,0.5,young,22\n"
        "2026-01-05 10:01:00,b,0,0.5,old,55\n"
        "2026-01-05 10:02:00,a,0,0.25,young,30\n"
    )


def test_reads_a_csv_log(tmp_path: Path) -> None:
    log = read_log(write(tmp_path, HEADER + good_rows()))
    assert log.action.tolist() == ["a", "b", "a"]
    np.testing.assert_allclose(log.reward, [1, 0, 0])
    np.testing.assert_allclose(log.propensity, [0.5, 0.5, 0.25])
    assert log.categorical_context() == ["segment"] and log.numeric_context() == ["age"]
    assert log.timestamp is not None and str(log.timestamp[1]).startswith("2026-01-05T10:01")
    assert log.position is None


def test_bad_propensity_rows_are_named(tmp_path: Path) -> None:
    text = HEADER + good_rows() + "2026-01-05 10:03:00,b,0,0,old,40\n2026-01-05 10:04:00,b,0,1.5,old,40\n"
    with pytest.raises(CatalogError, match=r"log\.csv: propensity must be in \(0, 1\]; .*row\(s\) 4, 5"):
        read_log(write(tmp_path, text))
    text = HEADER + good_rows() + "2026-01-05 10:03:00,b,0,,old,40\n"
    with pytest.raises(CatalogError, match=r"column 'propensity' is empty or not a number on row\(s\) 4"):
        read_log(write(tmp_path, text))


def test_missing_column_is_named(tmp_path: Path) -> None:
    text = "timestamp,action,propensity\n2026-01-05 10:00:00,a,0.5\n"
    with pytest.raises(CatalogError, match=r"no reward column \(looked for reward, click.*--map reward="):
        read_log(write(tmp_path, text))
    with pytest.raises(CatalogError, match=r"no column 'clicks' for reward"):
        read_log(write(tmp_path, HEADER + good_rows()), LogMapping(reward="clicks"))
    with pytest.raises(ConfigError, match="unknown log field 'rewardz'"):
        LogMapping.from_options(["rewardz=click"])
    assert LogMapping.from_options(["reward=clicked", "context=age, seg"]) == LogMapping(
        reward="clicked", context=("age", "seg")
    )


def test_parquet_reads_like_csv(tmp_path: Path) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csv_path = write(tmp_path, HEADER + good_rows())
    parquet_path = tmp_path / "log.parquet"
    pq.write_table(pacsv.read_csv(csv_path), parquet_path)
    a, b = read_log(csv_path), read_log(parquet_path)
    assert a.action.tolist() == b.action.tolist()
    np.testing.assert_allclose(a.propensity, b.propensity)
    assert a.timestamp is not None and b.timestamp is not None
    assert (a.timestamp == b.timestamp).all()
    assert set(a.context) == set(b.context)
    with pytest.raises(CatalogError, match="logs are CSV, TSV or Parquet"):
        read_log(write(tmp_path, "x", "log.xlsx"))


def test_action_table_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="action id\\(s\\) listed twice: a"):
        read_actions(write(tmp_path, "action,colour\na,red\na,blue\n", "actions.csv"))
    table = read_actions(write(tmp_path, "action,colour,price\na,red,10\nb,blue,30\n", "actions.csv"))
    assert table.feature_names == ["colour=blue", "colour=red", "price"]
    with pytest.raises(ConfigError, match="actions not in the action table: z"):
        table.features_of(["a", "z"])


def test_real_open_bandit_files(shared_data: Path) -> None:
    base = shared_data / "open-bandit"
    log = read_log(base / "bts" / "men" / "men.csv")
    assert len(log) == 10_000
    assert log.position is not None and set(np.unique(log.position).tolist()) == {1, 2, 3}
    assert ((log.propensity > 0) & (log.propensity <= 1)).all()
    assert set(np.unique(log.reward).tolist()) == {0.0, 1.0}
    assert len(log.actions) == 34
    assert log.categorical_context() == [f"user_feature_{k}" for k in range(4)]
    assert log.numeric_context() == [f"user-item_affinity_{k}" for k in range(34)]
    assert not any(c.startswith("Unnamed") or not c.strip() for c in log.context)  # the index column
    assert log.timestamp is not None and str(log.timestamp[0]).startswith("2019-11-24")
    random_log = read_log(base / "random" / "women" / "women.csv")
    np.testing.assert_allclose(random_log.propensity, 1 / 46)  # uniform over 46 items at each position
    items = read_actions(base / "bts" / "men" / "item_context.csv")
    assert items.ids == [str(k) for k in range(34)]
    assert items.feature_names[0] == "item_feature_0"
    assert items.features.shape[0] == 34
    assert abs(items.features[:, 0].mean()) < 1e-9  # the numeric feature is standardised
