"""Generates a cache node's Spring XML (`ignite-config.xml`) from settings, with ElementTree.

User input (cache names, for instance) only ever becomes attribute values, which the XML library
escapes; nothing is spliced into markup as text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from settings.caches import CacheConfiguration, CacheMode
from settings.products import BackupFilter, SpringBean

BEANS_NS = "http://www.springframework.org/schema/beans"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = (
    "http://www.springframework.org/schema/beans "
    "http://www.springframework.org/schema/beans/spring-beans.xsd"
)
WORK_DIRECTORY = "/ignite/work"
# A node that holds the last copy of a partition waits, when asked to stop (SIGTERM -> the JVM's
# shutdown hook -> IgnitionEx.stop(true) -> determineShutdownPolicy), until a backup exists
# elsewhere. IgniteConfiguration.shutdownPolicy in apache/ignite (2.9+) and gridgain/gridgain
# (8.7.22+, GG-29031; tag 8.9.33 commit 25fc6163f1b): org.apache.ignite.ShutdownPolicy; Spring
# converts the string to the enum. See docs/tasks/change-a-running-cache.md.
SHUTDOWN_POLICY = "GRACEFUL"


def _tag(name: str) -> str:
    return f"{{{BEANS_NS}}}{name}"


def _bean(
    parent: ET.Element, class_name: str, properties: tuple[tuple[str, str], ...]
) -> ET.Element:
    bean = ET.SubElement(parent, _tag("bean"), {"class": class_name})
    for name, value in properties:
        ET.SubElement(bean, _tag("property"), {"name": name, "value": value})
    return bean


def _list_property(parent: ET.Element, name: str) -> ET.Element:
    prop = ET.SubElement(parent, _tag("property"), {"name": name})
    return ET.SubElement(prop, _tag("list"))


def _cache_properties(cache: CacheConfiguration) -> tuple[tuple[str, str], ...]:
    props = [
        ("name", cache.name),
        ("cacheMode", cache.cache_mode.value),
        ("backups", str(cache.backups)),
    ]
    if cache.atomicity_mode is not None:
        props.append(("atomicityMode", cache.atomicity_mode.value))
    return tuple(props)


def _affinity(cache_bean: ET.Element, backup_filter: BackupFilter) -> None:
    """`affinity`: the rendezvous function with a backup filter on the node-name attribute, in
    the form of the class's own Spring example (a String[] constructor argument)."""
    prop = ET.SubElement(cache_bean, _tag("property"), {"name": "affinity"})
    function = ET.SubElement(prop, _tag("bean"), {"class": backup_filter.affinity_class})
    filter_prop = ET.SubElement(function, _tag("property"), {"name": "affinityBackupFilter"})
    bean = ET.SubElement(filter_prop, _tag("bean"), {"class": backup_filter.filter_class})
    arg = ET.SubElement(bean, _tag("constructor-arg"))
    names = ET.SubElement(arg, _tag("array"), {"value-type": "java.lang.String"})
    ET.SubElement(names, _tag("value")).text = backup_filter.attribute


def render_ignite_config(
    *,
    caches: tuple[CacheConfiguration, ...],
    discovery_address: str,
    plugin_beans: tuple[SpringBean, ...] = (),
    pod_addresses: tuple[str, ...] = (),
    backup_filter: BackupFilter | None = None,
) -> str:
    """The node configuration of the guide, for the given caches, plugins and discovery address.

    `pod_addresses` (each pod's stable DNS name) follow the guide's Service name in the IP
    finder's list: Apache Ignite resolves a name there to ONE address
    (docs/how-it-works/what-it-deploys.md#discovery-how-the-nodes-find-each-other).
    `backup_filter` keeps every PARTITIONED cache's backups off its primary's Kubernetes node
    (REPLICATED caches have a copy on every node, so there is nothing to place)."""
    ET.register_namespace("", BEANS_NS)
    ET.register_namespace("xsi", XSI_NS)
    root = ET.Element(_tag("beans"), {f"{{{XSI_NS}}}schemaLocation": SCHEMA_LOCATION})
    cfg = ET.SubElement(
        root,
        _tag("bean"),
        {"id": "ignite.cfg", "class": "org.apache.ignite.configuration.IgniteConfiguration"},
    )
    ET.SubElement(cfg, _tag("property"), {"name": "workDirectory", "value": WORK_DIRECTORY})
    ET.SubElement(cfg, _tag("property"), {"name": "shutdownPolicy", "value": SHUTDOWN_POLICY})

    cache_list = _list_property(cfg, "cacheConfiguration")
    for cache in caches:
        cache_bean = _bean(
            cache_list,
            "org.apache.ignite.configuration.CacheConfiguration",
            _cache_properties(cache),
        )
        if backup_filter is not None and cache.cache_mode is CacheMode.PARTITIONED:
            _affinity(cache_bean, backup_filter)

    if plugin_beans:
        plugin_list = _list_property(cfg, "pluginConfigurations")
        for bean in plugin_beans:
            _bean(plugin_list, bean.class_name, bean.properties)

    discovery = ET.SubElement(cfg, _tag("property"), {"name": "discoverySpi"})
    spi = ET.SubElement(
        discovery, _tag("bean"), {"class": "org.apache.ignite.spi.discovery.tcp.TcpDiscoverySpi"}
    )
    finder_prop = ET.SubElement(spi, _tag("property"), {"name": "ipFinder"})
    finder = ET.SubElement(
        finder_prop,
        _tag("bean"),
        {"class": "org.apache.ignite.spi.discovery.tcp.ipfinder.vm.TcpDiscoveryVmIpFinder"},
    )
    addresses = _list_property(finder, "addresses")
    for address in (discovery_address, *pod_addresses):
        ET.SubElement(addresses, _tag("value")).text = address

    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
