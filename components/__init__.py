"""cachemesh's Pulumi components, one per module."""
