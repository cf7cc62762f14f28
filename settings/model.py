"""The root of the settings tree: every `cachemesh:*` stack-config key."""

from __future__ import annotations

from pydantic import Field, SecretStr

from settings.base import SettingsModel
from settings.caches import CacheSettings
from settings.linkerd import GatewayApiSettings, LinkerdSettings
from settings.monitoring import MonitoringSettings
from settings.mtls_check import MtlsCheckSettings

# With no `cachemesh:caches`, the stack is exactly the guide's: one Ignite 2 cluster named ignite.
DEFAULT_CACHES = (CacheSettings(name="ignite"),)


class Settings(SettingsModel):
    caches: tuple[CacheSettings, ...] = Field(default=DEFAULT_CACHES, min_length=1)
    gridgain_license: SecretStr | None = None
    gateway_api: GatewayApiSettings = GatewayApiSettings()
    linkerd: LinkerdSettings = LinkerdSettings()
    mtls_check: MtlsCheckSettings = MtlsCheckSettings()
    monitoring: MonitoringSettings = MonitoringSettings()

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.namespace for c in self.caches))
