"""Bundled surrogates: gradient-boosted tree ensembles that predict a mean and a std."""
