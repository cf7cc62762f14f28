"""Settings of the mesh: `cachemesh:gatewayApi` and `cachemesh:linkerd`."""

from __future__ import annotations

from pydantic import Field

from settings.base import DnsSubdomain, SettingsModel


class GatewayApiSettings(SettingsModel):
    install: bool = True
    version: str = Field(default="v1.2.1", pattern=r"^v\d+\.\d+\.\d+$")
    # A local file or URL of standard-install.yaml, for air-gapped clusters.
    manifest: str | None = None


class CertificateSettings(SettingsModel):
    validity_hours: int = Field(default=8760, ge=24)
    early_renewal_hours: int = Field(default=1440, ge=0)


class LinkerdSettings(SettingsModel):
    enabled: bool = True
    trust_domain: DnsSubdomain = "cluster.local"
    certificates: CertificateSettings = CertificateSettings()
