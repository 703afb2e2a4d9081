"""Runner conformance kit: plays the core against any runner process and checks the protocol.

``motia-core conformance --lang NAME`` (a language of the runner registry) or ``--runner CMD
--fixtures DIR [--broken FILE]`` (a runner registered nowhere yet) runs the cases in
:data:`motia_core.conformance.command.CASES`; what the fixture steps declare and do is data in
``spec/fixtures.json``; ``motia-core conformance init --lang NAME DIR`` starts a new language's
fixtures. See README.md in this folder.
"""

from motia_core.conformance.command import CASES, add_parser, run

__all__ = ["CASES", "add_parser", "run"]
