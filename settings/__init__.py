"""cachemesh's settings: one pydantic model tree, validated from stack config at start-up."""

from settings.caches import CacheSettings
from settings.immutable import check_identity_mode, check_no_replacement
from settings.loader import SettingsError, load_settings, validate_settings
from settings.model import Settings
from settings.products import PRODUCTS, Product, ProductKey

__all__ = [
    "PRODUCTS",
    "CacheSettings",
    "Product",
    "ProductKey",
    "Settings",
    "SettingsError",
    "check_identity_mode",
    "check_no_replacement",
    "load_settings",
    "validate_settings",
]
