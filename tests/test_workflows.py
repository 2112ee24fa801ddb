"""Every workflow file holds together: it builds, and everything it names exists."""

from pathlib import Path

import pytest

from appointer import workflow as wf
from appointer.mail.render import template_path
from appointer.settings import ROOT, resource_dir

WORKFLOWS = resource_dir("workflows")
TEMPLATES = str(resource_dir("mail_templates"))
NAMES = wf.names(WORKFLOWS)


def test_there_are_workflow_files():
    """The appointment workflow ships as a data file."""
    assert "appointment" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_workflow_builds_and_every_state_is_reachable(name):
    """A workflow file that names an unknown state, guard, role, effect or recipient group
    fails to load; every declared state can be reached from the initial one."""
    w = wf.load(name, WORKFLOWS)
    assert w.reachable() == set(w.states), f"unreachable: {set(w.states) - w.reachable()}"
    assert w.machine.get_triggers(w.initial)


@pytest.mark.parametrize("name", NAMES)
def test_every_mail_template_exists_in_both_languages(name):
    """Each message a workflow sends has a template in nb (default) and en."""
    w = wf.load(name, WORKFLOWS)
    for template in w.templates():
        for lang in ("nb", "en"):
            assert template_path(TEMPLATES, template, lang) == f"{lang}/{template}.j2", \
                f"{template} missing in {lang}"


@pytest.mark.parametrize("name", NAMES)
def test_final_states_have_no_way_out(name):
    """A final state (declined, rejected, ended, …) is final: no transition leaves it."""
    w = wf.load(name, WORKFLOWS)
    for state in w.final_states():
        assert w.machine.get_triggers(state) == []


def test_a_broken_workflow_file_is_refused_with_what_is_wrong(tmp_path):
    """A typo in a workflow file is reported by name when it loads, not at run time."""
    text = (WORKFLOWS / "appointment.toml").read_text()
    broken = text.replace('conditions = ["is_user_representative"]',
                          'conditions = ["is_user_representativ"]', 1)
    broken = broken.replace('dest = "appointed"', 'dest = "apointed"', 1)
    (tmp_path / "appointment.toml").write_text(broken)
    with pytest.raises(wf.WorkflowError) as err:
        wf.Workflow(Path(tmp_path / "appointment.toml"))
    assert "unknown guard 'is_user_representativ'" in str(err.value)
    assert "unknown state 'apointed'" in str(err.value)


def test_diagram_is_drawn_from_the_file(cli):
    """`workflow show` draws what runs: every transition of the file is in the diagram."""
    w = wf.load("appointment", WORKFLOWS)
    mermaid = cli("workflow", "show", "appointment", "--format", "mermaid").output
    assert mermaid.startswith("stateDiagram-v2")
    for t in w.transitions:
        for s in t.source:
            assert f"{s} --> {t.dest}: {t.trigger}" in mermaid
    text = cli("workflow", "show", "appointment").output
    assert "appoint" in text and "appointing_coordinator" in text


def test_readme_diagrams_are_the_files_own(cli):
    """The README's workflow diagrams cannot drift: each equals `workflow show --format
    mermaid` of a shipped workflow."""
    readme = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```mermaid\n")[1:]]
    assert blocks, "the README embeds the workflow diagrams"
    drawn = {n: cli("workflow", "show", n, "--format", "mermaid").output.strip() for n in NAMES}
    for block in blocks:
        assert block in drawn.values(), "a README diagram differs from its workflow file"
    assert set(drawn.values()) <= set(blocks), "a workflow's diagram is missing from the README"
