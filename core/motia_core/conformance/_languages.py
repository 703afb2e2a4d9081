"""The languages the kit knows: fixture folder, expected Hello.language, a file that cannot load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


@dataclass(frozen=True)
class Language:
    code: str  # the --lang value
    fixture: str  # folder under fixtures/
    hello_language: str  # what Hello.language must say
    broken_file: str  # project-relative path of the syntax-error step the load_error case writes
    broken_source: str  # its content: a syntax error in that language

    @property
    def fixture_dir(self) -> Path:
        return FIXTURES_DIR / self.fixture


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language(
            "py",
            "python",
            "python",
            "steps/broken_step.py",
            'config = {"type": "event", "name": "Broken",\n\ndef handler(input, context:\n    pass\n',
        ),
        Language(
            "ts",
            "typescript",
            "node",
            "steps/broken.step.ts",
            "export const config = { type: 'event', name: 'Broken'\n\nexport const handler = async (input: => {}\n",
        ),
        Language(
            "js",
            "javascript",
            "node",
            "steps/broken.step.js",
            "const config = { type: 'event', name: 'Broken'\n\nconst handler = async (input => {}\n"
            "module.exports = { config, handler }\n",
        ),
        Language(
            "rb",
            "ruby",
            "ruby",
            "steps/broken_step.rb",
            "CONFIG = { 'type' => 'event', 'name' => 'Broken',\n\ndef handler(input, ctx\n  end end\n",
        ),
    )
}
