"""What the exercises' tests use to read a student's answer: plain values that no returned object can fake.

A test that compares a student's answer with ``==``, or checks it with
``isinstance``, asks the answer itself: ``got == [0, 1, 2, 3]`` calls the answer's
own ``__eq__`` when the answer is an instance of a subclass of ``list`` (Python
tries the right operand's method first), and an object whose ``__eq__`` is
always true passes every such test.  So the tests turn what student code
returned into *plain* values first, with :func:`plain`, and compare those with
values they made themselves (expected on the left)::

    from course.testing import plain
    got = plain(engine_ids_of(rc), list, "engine_ids_of(rc)")
    assert [0, 1, 2, 3] == got, f"engine_ids_of(rc) should be [0, 1, 2, 3], got {got}"

Plain values are exactly ``None``, ``bool``, ``int``, ``float``, ``complex``,
``str``, ``bytes``, and ``tuple``, ``list``, ``dict``, ``set`` and ``frozenset`` of
plain values, numpy scalars (given back as the Python number, string or bool
they hold) and numpy arrays of exactly ``numpy.ndarray`` whose dtype holds no
Python objects (given back as a copy).  Subclasses are not plain, whatever they
define, and a value is never asked anything (no ``__eq__``, ``__hash__``,
``__iter__``, ``__len__``, ``__getitem__``, ``__bool__``, ``__index__``,
``__float__`` ...): its exact type is checked before it is touched, and
containers are rebuilt from their checked items.  What is not plain fails the
test with an AssertionError that says what was expected.
"""

from __future__ import annotations

import numpy

__all__ = ["plain", "exactly", "type_name"]

LEAVES = (type(None), bool, int, float, complex, str, bytes)
SEQUENCES = (tuple, list)
SETS = (set, frozenset)
NUMPY_SCALARS = frozenset(t for t in set(numpy.sctypeDict.values())  # numbers, bools, strings: .item() gives Python's
                          if issubclass(t, (numpy.number, numpy.bool_, numpy.str_, numpy.bytes_))
                          and not issubclass(t, numpy.timedelta64))
ARRAY = numpy.ndarray
MAX_DEPTH = 100
KIND_WORDS = {type(None): "None", bool: "a bool", int: "an int", float: "a float", complex: "a complex number",
              str: "a str", bytes: "bytes", tuple: "a tuple", list: "a list", dict: "a dict", set: "a set",
              frozenset: "a frozenset", ARRAY: "a numpy array"}
PLAIN_WORDS = "plain values (None, bool, int, float, str, bytes, and tuples, lists, dicts and sets of them)"


class NotPlain(AssertionError):
    """What a test got is not a plain value (or not of the kind it expected)."""


def type_name(value) -> str:
    """The name of ``value``'s exact type, read from the type itself (never from the value)."""
    cls = type(value)
    name = type.__dict__["__qualname__"].__get__(cls)
    module = type.__dict__["__module__"].__get__(cls)
    if type(name) is not str:
        name = "?"
    if type(module) is str and module not in ("builtins", "__main__"):
        return f"{module}.{name}"
    return name


def _a(name: str) -> str:
    return f"{'an' if name[:1] in 'AEIOUaeiou' else 'a'} {name}"


def _described(value) -> str:
    cls = type(value)
    if cls in KIND_WORDS:
        return KIND_WORDS[cls]
    for base in (*LEAVES, *SEQUENCES, dict, *SETS, ARRAY):
        if issubclass(cls, base):
            return f"{_a(type_name(value))} (a subclass of {base.__name__}, which is not a plain {base.__name__})"
    return _a(type_name(value))


def _kinds(kind) -> tuple:
    if kind is None:
        return ()
    return kind if type(kind) is tuple else (kind,)


def _expected(kinds: tuple) -> str:
    words = [KIND_WORDS.get(k) or _a(getattr(k, '__name__', str(k))) for k in kinds]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def plain(value, kind=None, what: str = "the value", *, leaves: tuple = ()):
    """``value`` as plain data (see the module's doc), or :class:`NotPlain` (an AssertionError) naming ``what``.

    ``kind``: the exact type (or a tuple of them) the value must have at the top, after numpy scalars become
    Python ones: ``list``, ``int``, ``(list, tuple)``, ``numpy.ndarray`` ...  ``leaves``: further exact types the
    test accepts as they are, such as ``decimal.Decimal`` (immutable types whose own comparisons the test trusts).
    """
    kinds = _kinds(kind)
    leaves = tuple(leaves)
    if kinds:
        cls = type(value)
        top = cls if cls not in NUMPY_SCALARS else type(value.item())
        if top not in kinds:
            raise NotPlain(f"{what} should be {_expected(kinds)}, got {_described(value)}")
    return _plain(value, what, "", leaves, 0)


def _plain(value, what: str, path: str, leaves: tuple, depth: int):
    cls = type(value)
    if cls in LEAVES or cls in leaves:
        return value
    if depth > MAX_DEPTH:
        raise NotPlain(f"{what} is nested more than {MAX_DEPTH} levels deep{_at(path)}")
    if cls is list:
        return [_plain(item, what, f"{path}[{i}]", leaves, depth + 1) for i, item in enumerate(list.copy(value))]
    if cls is tuple:
        return tuple(_plain(item, what, f"{path}[{i}]", leaves, depth + 1)
                     for i, item in enumerate(tuple.__iter__(value)))
    if cls is dict:
        out = {}
        for key, item in list(dict.items(value)):
            key = _key(key, what, path, leaves, depth)
            out[key] = _plain(item, what, f"{path}[{key!r}]", leaves, depth + 1)
        return out
    if cls in SETS:
        items = [_key(item, what, path, leaves, depth) for item in list(cls.__iter__(value))]
        return set(items) if cls is set else frozenset(items)
    if cls in NUMPY_SCALARS:
        return value.item()
    if cls is ARRAY:
        if value.dtype.hasobject:
            raise NotPlain(f"{what} should hold only {PLAIN_WORDS}, but{_at(path, ' ')} it is a numpy array of "
                           "Python objects")
        return numpy.array(value, copy=True)
    where = f", but {path.lstrip('.') or 'it'} is" if path else ", got"
    raise NotPlain(f"{what} should be made of {PLAIN_WORDS}{where} {_described(value)}")


def _key(key, what: str, path: str, leaves: tuple, depth: int):
    """A dict key or set item: plain and hashable (its hash and equality are then the built-in types' own)."""
    cls = type(key)
    if cls in NUMPY_SCALARS:
        return key.item()
    if cls in LEAVES or cls in leaves:
        return key
    if cls is tuple or cls is frozenset:
        return _plain(key, what, f"{path} (a key)", leaves, depth + 1)
    raise NotPlain(f"{what} should be made of {PLAIN_WORDS}, but {path or 'it'} has a key or item that is "
                   f"{_described(key)}")


def _at(path: str, lead: str = "") -> str:
    return f"{lead}at {path}" if path else ""


def exactly(value, types, what: str = "the value"):
    """``value`` itself, if its type is exactly one of ``types`` (a type or a tuple of them) and it has no method
    of its own in place of its class's, else :class:`NotPlain`.

    For answers that are not data (a view, a client, an AsyncResult ...): a subclass of the expected class, which
    could answer anything, fails (``isinstance`` would let it through), and so does an object given a method of
    its own (``view.apply_sync = lambda *args: [...]``).
    """
    kinds = _kinds(types)
    cls = type(value)
    if cls not in kinds:
        words = [_a(k.__name__) for k in kinds]
        expected = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
        found = _described(value)
        if any(issubclass(cls, k) for k in kinds):
            found = f"{_a(type_name(value))} (a class of its own made from {kinds[0].__name__})"
        raise NotPlain(f"{what} should be {expected}, got {found}")
    try:
        own = object.__getattribute__(value, "__dict__")
    except AttributeError:
        own = {}
    for key in list(dict.keys(own)) if type(own) is dict else ():
        if type(key) is str and any(key in vars(base) and callable(vars(base)[key]) for base in cls.__mro__):
            raise NotPlain(f"{what} should be {_a(cls.__name__)} as ipyparallel made it, but it was given a {key} "
                           f"of its own in place of {cls.__name__}.{key}")
    return value
