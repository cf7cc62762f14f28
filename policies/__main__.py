"""Entry point run by `pulumi preview --policy-pack policies`. Only builds the pack:
PolicyPack() starts the analyzer's gRPC server and blocks; the rules live in cachemesh_policy."""

from cachemesh_policy import PACK_DESCRIPTION, PACK_ENFORCEMENT_LEVEL, PACK_NAME, POLICIES
from pulumi_policy import PolicyPack

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=PACK_ENFORCEMENT_LEVEL,
    description=PACK_DESCRIPTION,
)
