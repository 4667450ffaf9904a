"""Events read like a mapping of their extra fields, and take private attributes at construction."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import PrivateAttr

from flowpoint import Event, JsonSerializer, StopEvent


class Tagged(Event):
    param: str
    _secret: int = PrivateAttr()
    _note: str = PrivateAttr(default_factory=str)


class Doubling(Event):
    _raw: int = PrivateAttr()
    _doubled: int = PrivateAttr()

    def __init__(self, _doubled: int, **params: Any) -> None:
        super().__init__(**params)
        self._doubled = _doubled * 2


def test_extra_fields_are_items_and_attributes():
    ev = Event(a=1, b=2, c="c")
    assert (ev.a, ev["b"], ev["c"]) == (1, 2, "c")
    assert ev.keys() == {"a": 1, "b": 2, "c": "c"}.keys()
    assert list(ev.values()) == [1, 2, "c"]
    assert dict(ev.items()) == {"a": 1, "b": 2, "c": "c"}


def test_private_attributes_are_set_from_the_constructor():
    ev = Tagged(a=1, param="p", _secret=4)
    assert ev._secret == 4
    assert ev._note == ""
    assert ev.param == "p"
    assert ev._data == {"a": 1}


def test_a_custom_init_sees_its_private_argument():
    ev = Doubling(a=1, b=2, _raw=2, _doubled=2)
    assert ev._data == {"a": 1, "b": 2}
    assert (ev._raw, ev._doubled) == (2, 4)


def test_setting_items_and_attributes_and_the_dict_api():
    ev = Tagged(param="foo")
    assert len(ev) == 0
    ev["new_key"] = "bar"
    assert len(ev) == 1
    assert next(iter(ev)) == "new_key"
    assert ev.to_dict() == {"new_key": "bar"}
    ev.other = "baz"
    assert ev._data == {"new_key": "bar", "other": "baz"}
    ev["param"] = "changed"  # a declared field is set as the field
    assert ev.param == "changed" and "param" not in ev.keys()


def test_a_missing_attribute_raises_attribute_error_and_get_has_a_default():
    ev = Tagged(param="bar")
    with pytest.raises(AttributeError):
        ev.wrong_key  # noqa: B018
    assert ev.get("wrong_key", 7) == 7
    with pytest.raises(KeyError):
        ev["wrong_key"]


def test_an_event_without_extras_is_still_truthy():
    assert bool(Tagged(param="x")) is True


def test_stop_event_takes_its_result_positionally():
    assert StopEvent(42).result == 42
    assert StopEvent(result="x").result == "x"


def test_json_serializer_round_trips_an_event_through_the_registry():
    ev = Tagged(param="foo", not_a_field="bar", _secret=1)
    ser = JsonSerializer()
    back = ser.deserialize(ser.serialize(ev))
    assert type(back) is Tagged
    assert back.param == "foo" and back._data == {"not_a_field": "bar"}
