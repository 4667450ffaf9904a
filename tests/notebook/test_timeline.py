"""Timeline widget: assets, synced state, front-end messages, colours, repr (no browser)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import traitlets

from flowpoint.notebook import assets
from flowpoint.notebook.assets import asset_path
from flowpoint.notebook.timeline import (
    PALETTE,
    START_COLOR,
    START_STEP,
    Timeline,
    assign_step_colors,
)

REPO_WIDGETS = Path(__file__).resolve().parents[2] / "widgets"


def _runs():
    return [
        {
            "run_id": "run-aaaaaaaa",
            "label": "first",
            "status": "completed",
            "workflow": "jokes",
            "origin_checkpoint_id": None,
            "started_at": 1_700_000_000.0,
        },
        {
            "run_id": "run-bbbbbbbb",
            "label": "resumed",
            "status": "failed",
            "workflow": "jokes",
            "origin_checkpoint_id": "a1",
            "started_at": 1_700_000_100.0,
        },
    ]


def _marks():
    return [
        {
            "id": "a0",
            "run_id": "run-aaaaaaaa",
            "seq": 0,
            "step": None,
            "output_type": "StartEvent",
            "created_at": 1.0,
            "label": "start",
        },
        {
            "id": "a1",
            "run_id": "run-aaaaaaaa",
            "seq": 1,
            "step": "write",
            "output_type": "JokeEvent",
            "created_at": 2.0,
            "label": "joke",
        },
        {
            "id": "a2",
            "run_id": "run-aaaaaaaa",
            "seq": 2,
            "step": "critique",
            "output_type": "StopEvent",
            "created_at": 3.0,
            "label": "done",
        },
        {
            "id": "b0",
            "run_id": "run-bbbbbbbb",
            "seq": 0,
            "step": None,
            "output_type": "StartEvent",
            "created_at": 4.0,
            "label": "start",
        },
        {
            "id": "b1",
            "run_id": "run-bbbbbbbb",
            "seq": 1,
            "step": "critique",
            "output_type": "StopEvent",
            "created_at": 5.0,
            "label": "boom",
        },
    ]


def _front_end_update(widget, **state):
    """Deliver a comm message as the browser would send it after model.save_changes()."""
    widget._handle_msg(
        {
            "content": {"data": {"method": "update", "state": state, "buffer_paths": []}},
            "buffers": [],
        }
    )


# --- assets -------------------------------------------------------------------------------


def test_asset_files_found_in_checkout():
    js = asset_path("timeline.js")
    css = asset_path("timeline.css")
    assert js.is_file() and css.is_file()
    assert js.name == "timeline.js" and css.name == "timeline.css"
    # Either the shipped copy or the repo's widgets/ directory, with the same content.
    assert js.read_text(encoding="utf-8") == (REPO_WIDGETS / "timeline.js").read_text(
        encoding="utf-8"
    )


def test_asset_missing_names_both_places(tmp_path, monkeypatch):
    monkeypatch.setattr(assets, "_PACKAGE_DIR", tmp_path / "flowpoint")
    with pytest.raises(FileNotFoundError) as info:
        asset_path("no-such-file.js")
    msg = str(info.value)
    assert str(tmp_path / "flowpoint" / "_widgets" / "no-such-file.js") in msg
    assert str(REPO_WIDGETS / "no-such-file.js") in msg


def test_asset_prefers_installed_copy(tmp_path, monkeypatch):
    shipped = tmp_path / "flowpoint" / "_widgets"
    shipped.mkdir(parents=True)
    (shipped / "timeline.js").write_text("// shipped\n", encoding="utf-8")
    monkeypatch.setattr(assets, "_PACKAGE_DIR", tmp_path / "flowpoint")
    assert asset_path("timeline.js") == shipped / "timeline.js"
    # Files only in the checkout are still found.
    assert asset_path("timeline.css") == REPO_WIDGETS / "timeline.css"


@pytest.mark.parametrize("bad", ["", "../pyproject.toml", "/etc/passwd"])
def test_asset_rejects_paths(bad):
    with pytest.raises(ValueError):
        asset_path(bad)


def test_esm_and_css_in_widget_state():
    w = Timeline()
    state = w.get_state()
    js = (REPO_WIDGETS / "timeline.js").read_text(encoding="utf-8")
    css = (REPO_WIDGETS / "timeline.css").read_text(encoding="utf-8")
    assert state["_esm"] == js
    assert "export default" in state["_esm"]
    assert "fp-mark" in state["_esm"]
    assert state["_css"] == css
    assert ".fp-timeline" in state["_css"]


def test_js_never_uses_inner_html():
    js = (REPO_WIDGETS / "timeline.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "import("):
        assert sink not in js, sink


# --- synced state -------------------------------------------------------------------------


def test_defaults_and_synced_traits():
    w = Timeline()
    assert (w.runs, w.marks, w.step_colors, w.selected, w.pinned, w.zoom) == (
        [],
        [],
        {},
        "",
        "",
        1.0,
    )
    for name in ("runs", "marks", "step_colors", "selected", "pinned", "zoom"):
        assert w.trait_metadata(name, "sync") is True, name
    state = w.get_state()
    for name in ("runs", "marks", "step_colors", "selected", "pinned", "zoom"):
        assert name in state


def test_state_is_json_serialisable():
    w = Timeline.from_data(_runs(), _marks(), selected="a1")
    state = w.get_state(["runs", "marks", "step_colors", "selected", "pinned", "zoom"])
    roundtrip = json.loads(json.dumps(state))
    assert roundtrip["runs"][1]["origin_checkpoint_id"] == "a1"
    assert [m["id"] for m in roundtrip["marks"]] == ["a0", "a1", "a2", "b0", "b1"]
    assert roundtrip["selected"] == "a1"


def test_selected_from_front_end_fires_observer():
    w = Timeline.from_data(_runs(), _marks())
    seen = []
    w.observe(lambda change: seen.append((change["old"], change["new"])), names="selected")
    _front_end_update(w, selected="abc")
    assert w.selected == "abc"
    assert seen == [("", "abc")]
    _front_end_update(w, selected="")
    assert w.selected == ""
    assert seen == [("", "abc"), ("abc", "")]


def test_on_select_helper_and_selected_mark():
    w = Timeline.from_data(_runs(), _marks())
    got = []
    observer = w.on_select(got.append)
    _front_end_update(w, selected="b1")
    assert got == ["b1"]
    assert w.selected_mark["label"] == "boom"
    w.unobserve(observer, names="selected")
    _front_end_update(w, selected="a0")
    assert got == ["b1"]
    w.selected = "missing"
    assert w.selected_mark is None


def test_zoom_and_pinned_from_front_end():
    w = Timeline()
    _front_end_update(w, zoom=2.5, pinned="a2")
    assert w.zoom == 2.5
    assert w.pinned == "a2"


def test_zoom_validation():
    w = Timeline()
    w.zoom = 1000
    assert w.zoom == Timeline.MAX_ZOOM
    w.zoom = 1e-9
    assert w.zoom == Timeline.MIN_ZOOM
    with pytest.raises(traitlets.TraitError):
        w.zoom = -1
    with pytest.raises(traitlets.TraitError):
        w.zoom = float("nan")


# --- colours ------------------------------------------------------------------------------


def test_step_colors_follow_first_appearance():
    w = Timeline.from_data(_runs(), _marks())
    assert w.step_colors == {START_STEP: START_COLOR, "write": PALETTE[0], "critique": PALETTE[1]}
    assert list(w.step_colors) == [START_STEP, "write", "critique"]


def test_step_colors_deterministic_and_order_dependent():
    a = Timeline.from_data(_runs(), _marks()).step_colors
    b = Timeline.from_data(_runs(), _marks()).step_colors
    assert a == b
    reordered = [m for m in _marks() if m["step"] == "critique"] + _marks()
    c = Timeline.from_data(_runs(), reordered).step_colors
    assert c["critique"] == PALETTE[0] and c["write"] == PALETTE[1]


def test_step_colors_cycle_and_keep_existing():
    marks = [{"step": f"s{i}"} for i in range(len(PALETTE) + 2)]
    colors = assign_step_colors(marks)
    assert colors["s0"] == PALETTE[0]
    assert colors[f"s{len(PALETTE)}"] == PALETTE[0]
    assert colors[f"s{len(PALETTE) + 1}"] == PALETTE[1]
    kept = assign_step_colors([{"step": "new"}, {"step": "old"}], existing={"old": "#123456"})
    assert kept == {"old": "#123456", "new": PALETTE[1]}


def test_explicit_step_colors_win():
    w = Timeline.from_data(_runs(), _marks(), step_colors={"write": "red"})
    assert w.step_colors == {"write": "red"}


def test_set_data_keeps_colours_and_drops_stale_selection():
    w = Timeline.from_data(_runs(), _marks(), selected="b1", pinned="a1")
    before = dict(w.step_colors)
    marks = [m for m in _marks() if m["id"] != "b1"] + [
        {
            "id": "a3",
            "run_id": "run-aaaaaaaa",
            "seq": 3,
            "step": "polish",
            "output_type": None,
            "created_at": 6.0,
            "label": "x",
        }
    ]
    w.set_data(_runs(), marks)
    assert {k: w.step_colors[k] for k in before} == before
    assert w.step_colors["polish"] == PALETTE[2]
    assert w.selected == ""
    assert w.pinned == "a1"
    assert len(w.marks) == 5


# --- from_data normalisation --------------------------------------------------------------


class _Rec:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def test_from_data_accepts_records_and_datetimes():
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    runs = [
        _Rec(
            run_id="r1", workflow="wf", status="waiting", started_at=when, origin_checkpoint_id=None
        )
    ]
    marks = [
        _Rec(
            id="c0",
            run_id="r1",
            seq=0,
            step=None,
            output_type="pkg.mod.StartEvent",
            created_at=when,
        ),
        _Rec(
            id="c1",
            run_id="r1",
            seq=1,
            step="ask",
            output_type="pkg.mod.InputRequiredEvent",
            created_at=when.timestamp(),
        ),
    ]
    w = Timeline.from_data(runs, marks)
    assert w.runs == [
        {
            "run_id": "r1",
            "label": "",
            "status": "waiting",
            "workflow": "wf",
            "origin_checkpoint_id": None,
            "started_at": when.timestamp(),
            "edited": False,
            "resumed": False,
            "failed_step": "",
        }
    ]
    assert w.marks[0]["label"] == "StartEvent"
    assert w.marks[1]["label"] == "InputRequiredEvent"
    assert w.marks[0]["created_at"] == when.timestamp()
    assert w.step_colors == {START_STEP: START_COLOR, "ask": PALETTE[0]}
    json.dumps(w.get_state(["runs", "marks"]))


def test_hostile_strings_pass_through_untouched():
    evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    w = Timeline.from_data(
        [{"run_id": evil, "status": "running", "workflow": evil, "label": evil}],
        [{"id": "e1", "run_id": evil, "seq": 0, "step": evil, "output_type": evil, "label": evil}],
    )
    # Data is stored verbatim (escaping is the front end's job: it only uses textContent).
    assert w.marks[0]["step"] == evil
    assert evil in w.step_colors
    assert evil not in repr(w)


# --- repr ---------------------------------------------------------------------------------


def test_repr_is_stable():
    w = Timeline.from_data(_runs(), _marks())
    assert repr(w) == "Timeline(runs=2, checkpoints=5, selected='')"
    w.selected = "a1"
    assert repr(w) == "Timeline(runs=2, checkpoints=5, selected='a1')"
    assert repr(Timeline.from_data(_runs(), _marks(), selected="a1")) == repr(w)
    assert "0x" not in repr(w)
    assert repr(Timeline()) == "Timeline(runs=0, checkpoints=0, selected='')"


def test_mimebundle_text_uses_repr():
    w = Timeline.from_data(_runs(), _marks(), selected="b0")
    bundle = w._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["text/plain"] == "Timeline(runs=2, checkpoints=5, selected='b0')"
