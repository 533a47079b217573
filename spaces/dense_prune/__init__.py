"""dense_prune: MO-EvoPruneDeepTL's masks over a frozen backbone's dense head, and ensembles."""

from nasplat.spaces.dense_prune.space import DensePruneSpace

__all__ = ["DensePruneSpace"]
