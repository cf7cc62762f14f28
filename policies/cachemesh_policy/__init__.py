"""cachemesh policy pack: Linkerd rules for Ignite/GridGain workloads on Kubernetes."""

from .pack import PACK_DESCRIPTION, PACK_ENFORCEMENT_LEVEL, PACK_NAME, POLICIES, default_levels
from .settings import DEFAULT_CACHE_IMAGES, DEFAULT_CACHE_PORTS

__all__ = [
    "DEFAULT_CACHE_IMAGES",
    "DEFAULT_CACHE_PORTS",
    "PACK_DESCRIPTION",
    "PACK_ENFORCEMENT_LEVEL",
    "PACK_NAME",
    "POLICIES",
    "default_levels",
]
