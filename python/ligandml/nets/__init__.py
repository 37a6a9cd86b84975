"""Network families and model kinds.

One module per network family (vae: the variational autoencoder; inn: the latent INN of
Ardizzone et al. and the conditional flow), each holding its networks, losses and training phase;
one class per model kind (kinds.py), registered here by name. A kind builds its networks, maps
preprocessed curves to a latent point, samples parameters for a latent point and runs its own
training phases, so the model container and the training loop never ask which kind they hold.

    kind_class("cinn")(config, n_T, n_x)    # a fresh network of that kind
"""
from __future__ import annotations

#: registered model kinds: name -> class (filled by the @register decorators in kinds.py)
REGISTRY: dict = {}


def register(name: str):
    """Class decorator: make a ModelNet subclass available as model kind `name`."""
    def add(cls):
        if name in REGISTRY:
            raise ValueError(f"model kind {name!r} is registered twice")
        cls.kind = name
        REGISTRY[name] = cls
        return cls
    return add


def kind_class(name: str):
    """The ModelNet subclass of a model kind; ValueError naming the known kinds otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"ModelConfig.kind must be one of {tuple(REGISTRY)}, got {name!r}")
    return REGISTRY[name]


from . import kinds  # noqa: E402,F401  (registers the built-in kinds)

#: the built-in kinds, in the order of the docs
KINDS = tuple(REGISTRY)
