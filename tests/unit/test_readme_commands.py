"""Every ``memstream`` command and option README.md shows must exist in the CLI's parser.

README is the user guide: a command or flag it names that the parser rejects is a usage
error (exit 64) the first time a reader copies it. The shown commands are read from code
spans and code blocks; each option is checked against that command's parser (or the
top-level one, for -v/-q).
"""

import argparse
import re

from application.settings import REPO_ROOT
from cli.main import build_parser

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
# Inline code spans and fenced blocks; a table cell's "\|" is an escaped pipe, not a column.
SNIPPETS = re.findall(r"```.*?```|`[^`\n]+`", README.replace("\\|", "|"), re.S)
COMMAND = re.compile(r"memstream ([a-z]+)((?:[^`\n/]|/(?! ))*)")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def options(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", text))


def shown_commands() -> list[tuple[str, set[str]]]:
    """(command, options) for each ``memstream CMD ...`` and each span that starts with a
    command's name (``compare NAME``, ``ingest --knowledge --kb ID DIR``)."""
    names = subcommands()
    found = []
    for snippet in SNIPPETS:
        for name, rest in COMMAND.findall(snippet):
            found.append((name, options(rest)))
        words = snippet.strip("`").split()
        if words and words[0] in names and "memstream " not in snippet:
            found.append((words[0], options(" ".join(words[1:]))))
    return found


def test_readme_shows_commands():
    names = {name for name, _ in shown_commands()}
    assert {"ingest", "search", "memories", "serve", "worker", "forget"} <= names


def test_every_command_and_option_readme_shows_exists():
    commands = subcommands()
    top = set(build_parser()._option_string_actions)
    problems = []
    for name, options in shown_commands():
        if name not in commands:
            problems.append(f"memstream {name}: no such command")
            continue
        known = set(commands[name]._option_string_actions) | top
        problems += [f"memstream {name} {option}: no such option" for option in sorted(options - known)]
    assert problems == []


def test_every_bare_option_readme_shows_exists():
    """A span such as `--queries FILE.jsonl` names an option of some command."""
    known = set().union(*(set(p._option_string_actions) for p in subcommands().values()))
    bare = {option for snippet in SNIPPETS if snippet.strip("`").startswith("--")
            for option in options(snippet.strip("`").split()[0])}
    assert bare and sorted(bare - known) == []


def test_every_command_is_in_readme():
    names = {name for name, _ in shown_commands()}
    assert sorted(set(subcommands()) - names) == []
