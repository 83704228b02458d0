"""course.testing: what the exercises' tests turn a student's answer into before they compare it (issue 20).

An answer that says it equals anything (a class of its own, or a subclass of a built-in type whose ``__eq__``,
``__len__``, ``__iter__``, ``__getitem__`` ... lie) must fail with a message that says what was expected, and
none of its methods may run; plain answers come back as equal plain copies.
"""

from __future__ import annotations

import decimal

import numpy as np
import pytest

from course.testing import NotPlain, exactly, plain


class Touched(Exception):
    """A method of the answer ran: plain() asked the answer something."""


def _touch(*args, **kwargs):
    raise Touched()


def liar(base: type, hashable: bool = False) -> type:
    """A subclass of ``base`` every method of which raises Touched (its __eq__ would say True); with ``hashable``,
    but its __hash__ (so that the test can put it in a set or a dict)."""
    names = ["__eq__", "__ne__", "__hash__", "__iter__", "__len__", "__getitem__", "__bool__", "__index__",
             "__float__", "__int__", "__contains__", "__repr__", "__str__", "__reduce__", "__reduce_ex__", "keys",
             "items", "values", "copy", "__array__", "__lt__", "__format__"]
    methods = {name: _touch for name in names}
    if hashable:
        methods["__hash__"] = base.__hash__
    return type(f"Lying{base.__name__.title()}", (base,), methods)


@pytest.mark.parametrize("base, args", [(int, (3,)), (float, (1.5,)), (str, ("x",)), (bytes, (b"x",)),
                                        (tuple, ((1, 2),)), (list, ([1, 2],)), (dict, ({1: 2},)), (set, ({1},)),
                                        (frozenset, ({1},)), (complex, (1j,))])
def test_a_subclass_of_a_builtin_fails_without_being_asked_anything(base, args):
    value = liar(base)(*args)
    with pytest.raises(NotPlain) as caught:
        plain(value, what="engine_ids_of(rc)")
    message = str(caught.value)
    assert message.startswith("engine_ids_of(rc) should be made of plain values"), message
    assert f"a subclass of {base.__name__}" in message
    assert isinstance(caught.value, AssertionError), "a failed test, not an error"


@pytest.mark.parametrize("container", [
    lambda x: [1, x], lambda x: (x,), lambda x: {"key": x}, lambda x: {x: 1}, lambda x: {x}, lambda x: [[{"a": (x,)}]],
    lambda x: frozenset({(1, x)})])
def test_a_lie_anywhere_inside_fails_and_says_where(container):
    value = container(liar(int, hashable=True)(7))
    with pytest.raises(NotPlain) as caught:
        plain(value, what="pairs")
    assert "LyingInt" in str(caught.value) and "subclass of int" in str(caught.value), caught.value


def test_an_object_of_its_own_fails():
    class Anything:
        __eq__ = _touch
        __hash__ = _touch

    with pytest.raises(NotPlain, match=r"^predict_lengths\(102, 4\) should be a list, got an? .*Anything$"):
        plain(Anything(), list, "predict_lengths(102, 4)")
    with pytest.raises(NotPlain, match="should be made of plain values"):
        plain([Anything()])


def test_plain_values_come_back_equal_and_as_new_plain_copies():
    value = {"a": [1, 2.5, (3, "x")], 4: {5, 6}, (7, 8): frozenset({b"y"}), "none": None, "flag": True, "z": 1j}
    got = plain(value, dict, "the answer")
    assert got == value and got is not value
    assert type(got["a"]) is list and got["a"] is not value["a"]
    assert plain([], list) == [] and plain((), tuple) == () and plain("text", str) == "text"


def test_the_kind_is_exact_and_named_in_the_message():
    with pytest.raises(NotPlain, match=r"^count_engines\(everyone\) should be an int, got a bool$"):
        plain(True, int, "count_engines(everyone)")
    with pytest.raises(NotPlain, match=r"^xy should be a list or a tuple, got a dict$"):
        plain({}, (list, tuple), "xy")
    assert plain(np.int64(4), int) == 4 and type(plain(np.int64(4), int)) is int, "numpy scalars become Python's"
    assert plain(None, (type(None), list)) is None


def test_numpy_arrays_are_copied_and_object_arrays_fail():
    array = np.arange(6.0)
    got = plain([array, np.float32(1.5), np.bool_(True), np.str_("s")], list)
    assert type(got[0]) is np.ndarray and got[0] is not array and np.array_equal(got[0], array)
    assert got[1:] == [1.5, True, "s"] and [type(x) for x in got[1:]] == [float, bool, str]
    objects = np.empty(2, dtype=object)
    with pytest.raises(NotPlain, match="numpy array of Python objects"):
        plain(objects, what="b_all")
    with pytest.raises(NotPlain, match="subclass of ndarray"):
        plain(np.arange(3).view(type("Sub", (np.ndarray,), {"__eq__": _touch})), what="b_all")


def test_extra_leaves_are_what_the_test_allows():
    with pytest.raises(NotPlain):
        plain([decimal.Decimal("1.5")])
    assert plain([decimal.Decimal("1.5")], leaves=(decimal.Decimal,)) == [decimal.Decimal("1.5")]


def test_nesting_without_end_fails_instead_of_recursing():
    loop: list = []
    loop.append(loop)
    with pytest.raises(NotPlain, match="nested more than"):
        plain(loop, what="a list that holds itself")


def test_exactly_refuses_subclasses_and_methods_of_the_objects_own():
    import ipyparallel as ipp

    class Mine(ipp.AsyncResult):
        pass

    view = ipp.DirectView.__new__(ipp.DirectView)
    assert exactly(view, ipp.DirectView, "everyone") is view
    with pytest.raises(NotPlain, match=r"^ar should be an AsyncResult or an AsyncMapResult, got .*Mine "
                                       r"\(a class of its own made from AsyncResult\)$"):
        exactly(Mine.__new__(Mine), (ipp.AsyncResult, ipp.AsyncMapResult), "ar")
    view.__dict__["apply_sync"] = lambda *args: [1, 2, 3]
    with pytest.raises(NotPlain, match="given a apply_sync of its own in place of DirectView.apply_sync"):
        exactly(view, ipp.DirectView, "evens")
