"""taken_record builds the same frozen CheckpointRecord as its constructor, only faster."""

from __future__ import annotations

import dataclasses

import pytest

from flowpoint.storage.records import CheckpointRecord, EncodedState, taken_record


def test_a_taken_record_is_the_record_its_constructor_makes() -> None:
    state = EncodedState.of_text('{"store":{}}', {}, frozenset(), lambda: state)
    values = ("id-1", "run-1", 3, "step", "m.In", "m.Out", {"in": 1}, {"out": 2}, None, 12.5,
              0.25, {"label": "x"}, "parent", "json", state, ('{"in":1}', '{"out":2}'))
    made, taken = CheckpointRecord(*values), taken_record(*values)
    assert type(taken) is CheckpointRecord
    assert taken == made
    for f in dataclasses.fields(CheckpointRecord):
        assert getattr(taken, f.name) is getattr(made, f.name), f.name
    assert repr(taken) == repr(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        taken.seq = 4  # type: ignore[misc]
    assert dataclasses.replace(taken, seq=4).seq == 4
    assert taken.encoded_state is state and state.manifest == {"store": {}}
