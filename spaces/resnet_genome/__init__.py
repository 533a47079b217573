"""MO-ResNet's search space: variable-length gene codes of a ResNet-style network."""
