"""The constraints the distributions here validate against (a subset of
torch.distributions.constraints): each `check(value)` returns a bool tensor of value's batch
shape."""
import terra

__all__ = ['Constraint', 'dependent', 'is_dependent', 'real', 'real_vector', 'positive',
           'unit_interval', 'boolean', 'simplex', 'integer_interval']


class Constraint(object):
    """A region of valid values; event_dim is the number of rightmost dimensions of one event."""

    is_discrete = False
    event_dim = 0

    def check(self, value):
        raise NotImplementedError

    def __repr__(self):
        return self.__class__.__name__[1:] + '()'


class _Dependent(Constraint):
    """A constraint that depends on other parameters and cannot be checked alone."""

    def __init__(self, *, is_discrete=False, event_dim=0):
        self.is_discrete = is_discrete
        self.event_dim = event_dim

    def check(self, x):
        raise ValueError('Cannot determine validity of dependent constraint')


def is_dependent(constraint):
    return isinstance(constraint, _Dependent)


class _Real(Constraint):
    def check(self, value):
        return value == value  # False for NaN


class _RealVector(_Real):
    event_dim = 1

    def check(self, value):
        return (value == value).all(-1)


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return self.lower_bound < value

    def __repr__(self):
        return 'GreaterThan(lower_bound={})'.format(self.lower_bound)


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value):
        return (self.lower_bound <= value) & (value <= self.upper_bound)

    def __repr__(self):
        return 'Interval(lower_bound={}, upper_bound={})'.format(self.lower_bound, self.upper_bound)


class _IntegerInterval(_Interval):
    is_discrete = True

    def check(self, value):
        return (value % 1 == 0) & super().check(value)

    def __repr__(self):
        return 'IntegerInterval(lower_bound={}, upper_bound={})'.format(self.lower_bound, self.upper_bound)


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        return (value >= 0).all(-1) & ((value.sum(-1) - 1).abs() < 1e-6)


dependent = _Dependent()
real = _Real()
real_vector = _RealVector()
positive = _GreaterThan(0.)
unit_interval = _Interval(0., 1.)
boolean = _Boolean()
simplex = _Simplex()
integer_interval = _IntegerInterval
