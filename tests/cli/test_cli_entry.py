"""The entry points: the console script and ``python -m flowpoint``, version, help, bad usage."""

from __future__ import annotations

from pathlib import Path

from cli_support import flowpoint

import flowpoint as fp

COMMANDS = ("runs", "checkpoints", "show", "diff", "prune", "report", "export", "import",
            "resume", "lab")


def test_version_from_the_script_and_the_module_is_the_package_version():
    for module in (False, True):
        res = flowpoint("--version", module=module)
        assert res.code == 0, res.err
        assert res.out.strip() == f"flowpoint {fp.__version__}"


def test_help_lists_every_command():
    res = flowpoint("--help")
    assert res.code == 0
    for name in COMMANDS:
        assert f"  {name} " in res.out


def test_every_command_has_its_own_help():
    for name in COMMANDS:
        res = flowpoint(name, "--help")
        assert res.code == 0, (name, res.err)
        assert res.out.startswith(f"Usage: flowpoint {name}")


def test_no_command_prints_help_and_fails():
    res = flowpoint()
    assert res.code == 2
    assert "Commands:" in res.out


def test_an_unknown_option_is_one_line_naming_the_help_to_read(filled):
    res = flowpoint("checkpoints", "--colour", store=filled.url)
    assert res.code == 2
    assert res.err.count("\n") == 1
    assert "--colour" in res.err and "flowpoint checkpoints --help" in res.err


def test_an_unknown_command_fails_in_one_line():
    res = flowpoint("frobnicate")
    assert res.code == 2
    assert res.err.startswith("flowpoint: error:") and res.err.count("\n") == 1


def test_no_default_store_is_an_error_not_a_new_empty_file(tmp_path: Path):
    res = flowpoint("runs", cwd=tmp_path)
    assert res.code == 1
    assert res.err.count("\n") == 1
    assert "no store at" in res.err and "--store" in res.err
    assert not (tmp_path / ".flowpoint").exists()


def test_the_default_store_is_the_one_the_checkpointer_uses(filled):
    cwd = filled.path.parent.parent
    (cwd / ".flowpoint").mkdir()
    filled.path.rename(cwd / ".flowpoint" / "checkpoints.db")
    res = flowpoint("runs", "--json", cwd=cwd)
    assert res.code == 0, res.err
    assert filled.double_ok in res.out


def test_flowpoint_store_environment_variable_names_the_store(filled, tmp_path: Path):
    res = flowpoint("runs", "--json", cwd=tmp_path, env={"FLOWPOINT_STORE": filled.url})
    assert res.code == 0, res.err
    assert filled.double_failed in res.out


def test_a_bad_store_url_is_one_line(tmp_path: Path):
    res = flowpoint("runs", store="nonsense-store", cwd=tmp_path)
    assert res.code == 1
    assert res.err.count("\n") == 1 and "cannot open a store" in res.err
