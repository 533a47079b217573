"""nasplat-toy: an example third-party nasplat plugin (the ``toy_mlp`` search space)."""
