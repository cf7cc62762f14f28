"""Settings of one cache cluster: `cachemesh:caches[i]`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from settings.base import Quantity, SettingsModel, dns1123_label
from settings.products import PRODUCTS, Product, ProductKey

# A StatefulSet's pods carry a `controller-revision-hash` label of NAME-<10 chars>, which must stay
# a 63-character label; Kubernetes therefore caps StatefulSet names at 52 in practice.
MAX_CACHE_NAME = 52


class CacheMode(StrEnum):
    PARTITIONED = "PARTITIONED"
    REPLICATED = "REPLICATED"


class AtomicityMode(StrEnum):
    ATOMIC = "ATOMIC"
    TRANSACTIONAL = "TRANSACTIONAL"


class CacheConfiguration(SettingsModel):
    """One Ignite `CacheConfiguration` bean."""

    name: str = Field(min_length=1)
    cache_mode: CacheMode = CacheMode.PARTITIONED
    backups: int = Field(default=1, ge=0)
    atomicity_mode: AtomicityMode | None = None


class ResourceList(SettingsModel):
    memory: Quantity | None = None
    cpu: Annotated[Quantity | None, BeforeValidator(lambda v: None if v is None else str(v))] = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("memory", self.memory), ("cpu", self.cpu)) if v is not None}


class Resources(SettingsModel):
    limits: ResourceList = ResourceList(memory="1536Mi", cpu="1")
    # Unset requests default to the limits (Guaranteed QoS), which is what a cache wants.
    requests: ResourceList | None = None

    def as_dict(self) -> dict[str, dict[str, str]]:
        out = {"limits": self.limits.as_dict()}
        if self.requests is not None:
            out["requests"] = self.requests.as_dict()
        return {k: v for k, v in out.items() if v}


DEFAULT_CACHE_CONFIGURATIONS = (CacheConfiguration(name="PERSON"),)


class CacheSettings(SettingsModel):
    name: Annotated[str, AfterValidator(lambda v: dns1123_label(v, MAX_CACHE_NAME))]
    product: ProductKey = ProductKey.IGNITE2
    namespace: Annotated[str, AfterValidator(dns1123_label)] = "ignite"
    replicas: int = Field(default=2, ge=1)
    image: str | None = Field(default=None, min_length=1, pattern=r"^\S+$")
    resources: Resources = Resources()
    cache_configurations: tuple[CacheConfiguration, ...] = Field(
        default=DEFAULT_CACHE_CONFIGURATIONS, min_length=1
    )

    @field_validator("cache_configurations")
    @classmethod
    def _unique_cache_names(
        cls, value: tuple[CacheConfiguration, ...]
    ) -> tuple[CacheConfiguration, ...]:
        names = [c.name for c in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"cache names must be unique, {', '.join(dupes)} appear twice")
        return value

    @property
    def product_spec(self) -> Product:
        return PRODUCTS[self.product]

    @property
    def effective_image(self) -> str:
        return self.image or self.product_spec.default_image
