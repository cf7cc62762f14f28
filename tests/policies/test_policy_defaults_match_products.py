"""The pack runs in its own venv and cannot import the program, so it keeps its own defaults;
these tests hold them to the program's product data (settings/products.py)."""

from fnmatch import fnmatch

from cachemesh_policy.settings import DEFAULT_CACHE_IMAGES, DEFAULT_CACHE_PORTS

from settings.products import ALL_SERVER_FIRST_PORTS, PRODUCTS


def test_default_cache_ports_are_the_products_server_first_ports() -> None:
    assert tuple(sorted(DEFAULT_CACHE_PORTS)) == ALL_SERVER_FIRST_PORTS


def test_default_cache_images_match_every_products_image_repositories() -> None:
    for product in PRODUCTS.values():
        for repository in product.image_repositories:
            assert any(fnmatch(repository, pattern) for pattern in DEFAULT_CACHE_IMAGES), repository
