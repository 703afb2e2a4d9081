"""Runner conformance kit: plays the core against any runner process and checks the protocol.

``motia-core conformance --runner "<command>" --lang py|ts|js|rb`` runs the cases in
:data:`motia_core.conformance.command.CASES` against the fixture project of that language
(``fixtures/<language>/``); see README.md in this folder.
"""

from motia_core.conformance.command import CASES, add_parser, run

__all__ = ["CASES", "add_parser", "run"]
