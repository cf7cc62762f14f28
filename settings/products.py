"""The cache products cachemesh deploys, as data.

Everything that differs between Apache Ignite 2 and GridGain 8 lives here — image, ports, extra
Spring beans, licence — so the rest of the program never branches on the product's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

Version = tuple[int, int, int]
# The leading MAJOR.MINOR.PATCH of an image tag: `8.9.35-openjdk17-slim` -> (8, 9, 35).
_TAG_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?![\d.])")


def image_version(image: str) -> Version | None:
    """The product version an image reference names by its tag; None for `latest`, a digest-only
    reference or any tag that does not start with MAJOR.MINOR.PATCH."""
    reference = image.split("@", 1)[0]
    _name, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:  # no tag (a registry port is followed by a path)
        return None
    match = _TAG_VERSION.match(tag)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


class PortAccess(StrEnum):
    """Who may connect to a port under the `strict` authorization mode."""

    PEERS = "peers"  # only the cache's own identity: the node-to-node SPIs
    CLIENTS = "clients"  # meshed clients (cachemesh:caches[].clientIdentities)
    # The REST API: admin commands (setstate, put, destroy…), so its own list
    # (cachemesh:caches[].adminIdentities), never the clients'.
    ADMINS = "admins"
    NONE = "none"  # no Server: the pods' default-deny policy refuses it


@dataclass(frozen=True)
class CachePort:
    """A port a cache node listens on."""

    number: int
    # Short name; the port's Linkerd Server and AuthorizationPolicy are named `<cache>-<key>`.
    key: str
    purpose: str
    # Linkerd's HTTP detection stalls on server-first (or preamble-less binary) protocols; these
    # ports must be opaque so the proxy skips detection and still applies mTLS.
    server_first: bool = False
    # Carries traffic between cache nodes (not only from clients): what the mTLS check proves.
    inter_node: bool = False
    # Name on the headless Service; None keeps the port off the Service (the guide's choice).
    service_port_name: str | None = None
    access: PortAccess = PortAccess.NONE
    # Plain HTTP (REST): Linkerd may parse it; the probes ask it their REST commands over loopback.
    http: bool = False


@dataclass(frozen=True)
class SpringBean:
    """A `<bean class=...>` with `<property name=... value=...>` children."""

    class_name: str
    properties: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LicenseSpec:
    """Where a product's licence file comes from and where the node reads it."""

    secret_name: str
    secret_key: str
    volume_name: str
    mount_path: str

    @property
    def file_path(self) -> str:
        return f"{self.mount_path}/{self.secret_key}"


@dataclass(frozen=True)
class BackupFilter:
    """How a product keeps a partition's backup copies off the Kubernetes node of its primary: an
    affinity function whose backup filter compares one node attribute, set from the pod's node
    name. Every environment variable of the JVM becomes a node attribute (IgniteConfiguration
    `includeProperties` unset): apache/ignite IgniteKernal `fillNodeAttributes` ("Stick all
    environment settings into node attributes"); ClusterNodeAttributeAffinityBackupFilter then
    refuses a backup candidate whose attribute values equal those of a node already chosen for
    the partition, and assigns fewer backups rather than two copies on one group (apache/ignite
    and gridgain/gridgain modules/core/.../cache/affinity/rendezvous/
    ClusterNodeAttributeAffinityBackupFilter.java; gridgain/gridgain 7903984 has the public
    String... constructor Spring calls)."""

    affinity_class: str
    filter_class: str
    # The environment variable (= node attribute) that holds the Kubernetes node name.
    attribute: str


RENDEZVOUS_BY_NODE = BackupFilter(
    affinity_class="org.apache.ignite.cache.affinity.rendezvous.RendezvousAffinityFunction",
    filter_class=(
        "org.apache.ignite.cache.affinity.rendezvous.ClusterNodeAttributeAffinityBackupFilter"
    ),
    attribute="CACHEMESH_K8S_NODE_NAME",
)


@dataclass(frozen=True)
class VersionedProbe:
    """A REST request the product answers from `since` on, better than the default probe."""

    since: Version
    path: str
    source: str


@dataclass(frozen=True)
class Product:
    key: str
    display_name: str
    default_image: str
    # Recognises the product's images in other programs (used by the policy pack and docs).
    image_repositories: tuple[str, ...]
    ports: tuple[CachePort, ...]
    plugin_beans: tuple[SpringBean, ...] = ()
    license: LicenseSpec | None = None
    # REST commands (ignite-rest-http) the probes ask over loopback: "kernal started", and
    # "answers at all" (components/meshed_cache.py `probes`).
    readiness_probe_path: str = "/ignite?cmd=probe"
    liveness_probe_path: str = "/ignite?cmd=version"
    # Readiness probes that say more than "kernel started", newest last; chosen by image version.
    readiness_probes_since: tuple[VersionedProbe, ...] = ()
    # Keeps backups off the primary's Kubernetes node (caches[i].placement.backupsOnOtherNodes).
    backup_filter: BackupFilter = RENDEZVOUS_BY_NODE

    def readiness_probe_path_for(self, image: str) -> str:
        """The readiness request for this image: the newest probe its version has, or the
        default when the version is older or cannot be read from the tag."""
        version = image_version(image)
        path = self.readiness_probe_path
        for probe in self.readiness_probes_since:
            if version is not None and version >= probe.since:
                path = probe.path
        return path

    @property
    def server_first_ports(self) -> tuple[int, ...]:
        return tuple(p.number for p in self.ports if p.server_first)

    @property
    def http_port(self) -> CachePort:
        return next(p for p in self.ports if p.http)

    @property
    def inter_node_ports(self) -> tuple[int, ...]:
        return tuple(p.number for p in self.ports if p.inter_node)

    @property
    def opaque_ports_annotation(self) -> str:
        """The value of `config.linkerd.io/opaque-ports`, e.g. "10800,47100,47500"."""
        return ",".join(str(n) for n in sorted(self.server_first_ports))


class ProductKey(StrEnum):
    IGNITE2 = "ignite2"
    GRIDGAIN8 = "gridgain8"


# Port order follows the guide's container spec.
CACHE_PORTS: tuple[CachePort, ...] = (
    CachePort(
        10800,
        "thinclient",
        "thin client / JDBC / ODBC (binary, client sends a preamble Linkerd cannot read)",
        server_first=True,
        service_port_name="tcp-thinclient",
        access=PortAccess.CLIENTS,
    ),
    CachePort(11211, "connector", "binary REST / control.sh; in Linkerd's default opaque list"),
    CachePort(
        47100,
        "communication",
        "communication SPI (the server speaks first)",
        server_first=True,
        inter_node=True,
        service_port_name="tcp-communication",
        access=PortAccess.PEERS,
    ),
    CachePort(
        47500,
        "discovery",
        "discovery SPI (a 4-byte binary preamble)",
        server_first=True,
        inter_node=True,
        service_port_name="tcp-discovery",
        access=PortAccess.PEERS,
    ),
    CachePort(8080, "rest", "HTTP REST (ignite-rest-http)", access=PortAccess.ADMINS, http=True),
)

GRIDGAIN_LICENSE = LicenseSpec(
    secret_name="gridgain-license",
    secret_key="gridgain-license.xml",
    volume_name="ignite-license",
    mount_path="/ignite/license",
)

PRODUCTS: dict[ProductKey, Product] = {
    ProductKey.IGNITE2: Product(
        key=ProductKey.IGNITE2,
        display_name="Apache Ignite 2",
        default_image="apacheignite/ignite:2.16.0",
        image_repositories=("apacheignite/ignite",),
        ports=CACHE_PORTS,
        backup_filter=RENDEZVOUS_BY_NODE,
    ),
    ProductKey.GRIDGAIN8: Product(
        key=ProductKey.GRIDGAIN8,
        display_name="GridGain 8 Enterprise",
        default_image="gridgain/enterprise:8.9.33-openjdk17-slim",
        image_repositories=("gridgain/enterprise", "gridgain/ultimate", "gridgain/community"),
        ports=CACHE_PORTS,
        plugin_beans=(
            SpringBean(
                "org.gridgain.grid.configuration.GridGainConfiguration",
                (
                    ("rollingUpdatesEnabled", "true"),
                    ("licenseUrl", GRIDGAIN_LICENSE.file_path),
                ),
            ),
        ),
        license=GRIDGAIN_LICENSE,
        backup_filter=RENDEZVOUS_BY_NODE,
        readiness_probes_since=(
            # 503 "rebalance in progress" while the node still has MOVING partitions (latched
            # once ready). gridgain/gridgain tag 8.9.35 (4943067a994), commit 4dfefa9 "GG-42091",
            # GridProbeCommandHandler; ../shared/research/day2-lifecycle.md 1a.
            VersionedProbe(
                since=(8, 9, 35),
                path="/ignite?cmd=probe&kind=readiness",
                source="gridgain/gridgain 8.9.35 GridProbeCommandHandler (GG-42091)",
            ),
        ),
    ),
}

# Every port any product treats as server-first: the default for the policy pack and the check.
ALL_SERVER_FIRST_PORTS: tuple[int, ...] = tuple(
    sorted({n for product in PRODUCTS.values() for n in product.server_first_ports})
)

# Every product's image repositories: how the admission policies recognise a cache image.
ALL_IMAGE_REPOSITORIES: tuple[str, ...] = tuple(
    r for product in PRODUCTS.values() for r in product.image_repositories
)
