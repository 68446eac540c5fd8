import shopfuse


def test_all_names_exist_and_are_sorted() -> None:
    assert sorted(shopfuse.__all__) == shopfuse.__all__
    for name in shopfuse.__all__:
        assert hasattr(shopfuse, name), name


def test_one_exception_hierarchy() -> None:
    for name in (
        "CatalogError",
        "ConfigError",
        "EncoderMismatchError",
        "FilterError",
        "MediaError",
        "StoreDamagedError",
        "StoreError",
    ):
        assert issubclass(getattr(shopfuse, name), shopfuse.ShopfuseError)
