"""Compatibility path: the normalisation and its out-of-distribution warning live in
ligandml.preprocessing (one preprocessing object for the dataset and the model)."""
from .preprocessing import MinMaxNormalizer, OutOfDistributionWarning

__all__ = ["MinMaxNormalizer", "OutOfDistributionWarning"]
