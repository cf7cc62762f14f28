"""The root of the settings tree: every `cachemesh:*` stack-config key."""

from __future__ import annotations

from pydantic import Field, SecretStr

from settings.admission import AdmissionSettings
from settings.base import SettingsModel
from settings.caches import CacheSettings
from settings.linkerd import GatewayApiSettings, LinkerdSettings
from settings.monitoring import MonitoringSettings
from settings.mtls_check import MtlsCheckSettings

# With no `cachemesh:caches`, the stack is exactly the guide's: one Ignite 2 cluster named ignite.
DEFAULT_CACHES = (CacheSettings(name="ignite"),)


class Settings(SettingsModel):
    caches: tuple[CacheSettings, ...] = Field(
        default=DEFAULT_CACHES,
        min_length=1,
        description="The cache clusters to deploy, one StatefulSet each. Unset: one Apache "
        "Ignite 2 cluster named `ignite` in namespace `ignite` (the guide's).",
    )
    gridgain_license: SecretStr | None = Field(
        default=None,
        description="The GridGain licence XML; required when any cache is `gridgain8`, refused "
        "unless stored as a secret (`pulumi config set --secret gridgainLicense < "
        "gridgain-license.xml`). Stays a Pulumi secret: never in outputs, logs or errors.",
    )
    gateway_api: GatewayApiSettings = Field(
        default=GatewayApiSettings(),
        description="The Gateway API CRDs Linkerd needs: whether and from where to install them.",
    )
    linkerd: LinkerdSettings = Field(
        default=LinkerdSettings(),
        description="The Linkerd control plane: version, trust domain, certificates, CNI plugin.",
    )
    mtls_check: MtlsCheckSettings = Field(
        default=MtlsCheckSettings(),
        description="The post-deploy check that proves the cache traffic is mutual TLS.",
    )
    monitoring: MonitoringSettings = Field(
        default=MonitoringSettings(),
        description="Prometheus alerts that keep watching the mesh after `pulumi up`.",
    )
    admission: AdmissionSettings = Field(
        default=AdmissionSettings(),
        description="ValidatingAdmissionPolicies that apply the policy pack's mandatory rules in "
        "the API server, to objects applied outside this program too.",
    )

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.namespace for c in self.caches))

    @property
    def admission_namespaces(self) -> tuple[str, ...]:
        """The namespaces the admission policies cover: as configured, else the caches'."""
        return self.admission.namespaces or self.namespaces
