"""``lab.bias_from_priors``: the computation lives beside ``PriorBias`` in
``initium.initializers.priors`` (a lower layer, so the initializer needs nothing from the lab)."""

from initium.initializers.priors import bias_from_priors

__all__ = ["bias_from_priors"]
