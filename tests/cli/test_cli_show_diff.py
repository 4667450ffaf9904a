"""``flowpoint show`` and ``flowpoint diff``: one checkpoint or run by id prefix, two compared."""

from __future__ import annotations

import json

from cli_support import flowpoint

from flowpoint import open_store
from flowpoint.storage import CheckpointQuery


def _ckpts(url, run_id):
    return open_store(url).list_checkpoints(CheckpointQuery(run_ids=(run_id,)))


def test_show_a_checkpoint_by_prefix_shows_its_step_events_and_store(filled):
    ckpt = _ckpts(filled.url, filled.double_ok)[1]
    res = flowpoint("show", ckpt.id[:6], store=filled.url)
    assert res.code == 0, res.err
    assert ckpt.id in res.out and filled.double_ok in res.out
    assert "take" in res.out and 'NumberEvent {"n": 21}' in res.out
    assert "store['taken']" in res.out and "DoubleFlow" in res.out


def test_show_json_is_the_whole_checkpoint_with_its_state(filled):
    ckpt = _ckpts(filled.url, filled.double_ok)[2]
    res = flowpoint("show", ckpt.id, "--json", store=filled.url)
    data = json.loads(res.out)["checkpoint"]
    assert data["id"] == ckpt.id and data["seq"] == 2 and data["step"] == "double"
    assert data["ctx_state"]["store"] == {"taken": 21, "doubled": 42}
    assert data["output_event"]["data"] == {"result": {"doubled": 42}}


def test_show_a_run_shows_its_error_and_its_checkpoints(filled):
    res = flowpoint("show", filled.double_failed[:8], store=filled.url)
    assert res.code == 0, res.err
    assert "failed" in res.out and "StepFailed: cannot double -1" in res.out
    assert "2 checkpoints" in res.out
    res = flowpoint("show", filled.double_failed, "--full", store=filled.url)
    assert "Traceback" in res.out and "raise StepFailed" in res.out
    data = json.loads(flowpoint("show", filled.double_failed, "--json", store=filled.url).out)
    assert data["run"]["status"] == "failed" and len(data["checkpoints"]) == 2


def test_show_an_unknown_id_is_one_line(filled):
    res = flowpoint("show", "zz-not-an-id", store=filled.url)
    assert res.code == 1 and res.err.count("\n") == 1
    assert "no checkpoint or run" in res.err


def test_show_an_ambiguous_prefix_asks_for_more_characters(filled):
    res = flowpoint("show", "", store=filled.url)
    assert res.code == 1 and res.err.count("\n") == 1


def test_diff_shows_what_the_step_changed(filled):
    a, b, c = _ckpts(filled.url, filled.double_ok)
    res = flowpoint("diff", b.id[:8], c.id[:8], "--json", store=filled.url)
    assert res.code == 0, res.err
    changes = {ch["path"]: ch for ch in json.loads(res.out)["changes"]}
    assert changes["ctx_state.store.doubled"]["kind"] == "added"
    assert changes["ctx_state.store.doubled"]["after"] == 42
    assert changes["output_event.__event__"]["before"] == "cli_flows.NumberEvent"
    table = flowpoint("diff", b.id[:8], c.id[:8], store=filled.url).out
    assert "ctx_state.store.doubled" in table and "added" in table


def test_diff_of_a_checkpoint_with_itself_has_no_differences(filled):
    a = _ckpts(filled.url, filled.double_ok)[0]
    res = flowpoint("diff", a.id, a.id, store=filled.url)
    assert res.code == 0 and "no differences" in res.out


def test_diff_of_an_unknown_checkpoint_fails_in_one_line(filled):
    a = _ckpts(filled.url, filled.double_ok)[0]
    res = flowpoint("diff", a.id, "deadbeef", store=filled.url)
    assert res.code == 1 and res.err.count("\n") == 1 and "deadbeef" in res.err
