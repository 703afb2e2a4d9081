from __future__ import annotations

from pathlib import Path

from motia_core.project import RunnerName, discover, load_dotenv


def test_discovery_follows_motia_naming(tmp_path: Path) -> None:
    files = [
        "steps/a.step.ts",
        "steps/b_step.py",
        "steps/nested/c.step.js",
        "steps/nested/d_step.ts",
        "src/e.step.rb",
        "src/f_step.rb",
        "src/services/helper.ts",
        "steps/old.step.py",
        "steps/ui.step.tsx",
        "steps/node_modules/x.step.js",
        "other/g.step.ts",
    ]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    found = discover(tmp_path)
    assert [f.relative_path for f in found.files] == [
        "steps/a.step.ts",
        "steps/b_step.py",
        "steps/nested/c.step.js",
        "steps/nested/d_step.ts",
        "src/e.step.rb",
        "src/f_step.rb",
    ]
    by_name = {f.relative_path: f for f in found.files}
    assert by_name["steps/a.step.ts"].language == "typescript"
    assert by_name["steps/b_step.py"].runtime == RunnerName("python")
    assert by_name["src/e.step.rb"].runtime == RunnerName("ruby")
    assert found.runtimes() == {RunnerName("node"), RunnerName("python"), RunnerName("ruby")}
    assert len(found.warnings) == 1 and "old.step.py" in found.warnings[0]


def test_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# c\nA=1\nexport B=\"two words\"\nC='x'\nbad line\n")
    assert load_dotenv(tmp_path) == {"A": "1", "B": "two words", "C": "x"}
