"""Seeding Terra's Philox generator (terra.manual_seed and friends)."""
from . import _C


def manual_seed(seed):
    _C.default_generator.manual_seed(int(seed))
    return _C.default_generator


def seed():
    return _C.default_generator.seed()


def initial_seed():
    return _C.default_generator.initial_seed()


def get_rng_state():
    return _C.default_generator.get_state()


def set_rng_state(state):
    _C.default_generator.set_state(state)


def fork_rng(devices=None, enabled=True, **_):
    import contextlib

    @contextlib.contextmanager
    def ctx():
        state = get_rng_state()
        try:
            yield
        finally:
            set_rng_state(state)

    return ctx()
