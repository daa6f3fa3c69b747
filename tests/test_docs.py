"""The README and ``docs/`` promise only what exists in this clone.

* every TOML snippet with ``[[sources]]``/``[[sinks]]`` loads with the real configuration loader, and
  every ``type = "…"`` anywhere in the docs is a registered source or sink type;
* every ``wafpipe <command> [<subcommand>]`` in a code span or block exists (its ``--help`` exits 0),
  and every option written after it is an option of that command;
* no page and no ``--help`` text refers to files outside the repository (the design notes a
  developer may have beside the clone are not part of what a user gets);
* every relative link (and ``#anchor``) resolves, and every repository path in a code span exists;
* the field and rule-type tables of ``docs/formats.md`` match the code.

The checks are plain functions over text, so ``test_checks_catch_*`` can prove that each of them
fails on a page that names something that does not exist.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, get_args

import pytest
import typer.main
from typer.testing import CliRunner

from wafpipe.cli.app import app
from wafpipe.config.root import FileOutput, SyslogOutput, WebhookOutput, config_from_dict
from wafpipe.fields.keys import LEEF_ALIASES, RULE_TYPES, W3C_COLUMNS
from wafpipe.fields.table import FIELDS
from wafpipe.sinks import registry as sink_registry
from wafpipe.sources import registry as source_registry

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# source and sink types, and the alert outputs' ([detect] outputs)
TYPES = set(source_registry.COMPONENTS) | set(sink_registry.COMPONENTS) | {
    arg for model in (FileOutput, WebhookOutput, SyslogOutput) for arg in get_args(model.model_fields["type"].annotation)}
OUTSIDE = re.compile(r"\bFORMATS\b|\bDESIGN\b|\.\./shared")

FENCE = re.compile(r"^(?P<fence>```+|~~~+)[ \t]*(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)
SPAN = re.compile(r"(?<!`)(?P<ticks>`+)(?!`)(?P<code>.+?)(?<!`)(?P=ticks)(?!`)", re.S)
HEREDOC = re.compile(r"<<-?[ \t]*(['\"]?)(?P<tag>\w+)\1[^\n]*\n(?P<body>.*?)^[ \t]*(?P=tag)[ \t]*$", re.M | re.S)
TYPE_KEY = re.compile(r"\btype\s*=\s*[\"'](?P<type>[^\"'\n]*)[\"']")
COMMAND = re.compile(
    r"(?<![\w.-])wafpipe[ \t]+(?P<cmd>[a-z][a-z0-9-]*)(?:[ \t]+(?P<sub>[a-z][a-z0-9-]*(?:\|[a-z][a-z0-9-]*)*))?(?P<rest>[^\n]*)"
)
ROOT_OPTION = re.compile(r"(?<![\w.-])wafpipe[ \t]+(?P<opt>--?[A-Za-z][\w-]*)")
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\((?P<target><[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\)")
REF_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(?P<target>\S+)", re.M)
REPO_PATH = re.compile(r"^(?:src|tests|bench|docs)/[\w./@-]*$")


# -- reading Markdown -----------------------------------------------------------------------------


def blocks(text: str) -> list[tuple[str, str]]:
    """Fenced code blocks as (language, body)."""
    return [(m["lang"].lower(), m["body"]) for m in FENCE.finditer(text)]


def prose(text: str) -> str:
    """The text outside fenced blocks."""
    return FENCE.sub("", text)


def spans(text: str) -> list[str]:
    """Inline code spans outside fenced blocks (a span does not cross a blank line)."""
    return [m["code"] for m in SPAN.finditer(prose(text)) if "\n\n" not in m["code"]]


def without_comments(body: str) -> str:
    """A shell block without its ``# comments`` (a ``#`` inside quotes is not one)."""
    lines = []
    for line in body.splitlines():
        masked = re.sub(r"'[^']*'|\"[^\"]*\"", lambda m: "x" * len(m[0]), line)
        cut = re.search(r"(?:^|[ \t])#", masked)
        lines.append(line[: cut.start()] if cut else line)
    return "\n".join(lines)


def code_texts(text: str) -> list[str]:
    """Everything a reader would copy: fenced block bodies (without shell comments) and code spans."""
    return [without_comments(body) for _, body in blocks(text)] + spans(text)


def toml_snippets(text: str) -> list[str]:
    """TOML that configures sources or sinks: ```toml blocks, and here-documents in shell blocks."""
    out: list[str] = []
    for lang, body in blocks(text):
        candidates = [body] if lang == "toml" else [m["body"] for m in HEREDOC.finditer(body)]
        out += [c for c in candidates if "[[sources]]" in c or "[[sinks]]" in c]
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: link text kept, punctuation dropped, spaces → hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    out: set[str] = set()
    for m in re.finditer(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", prose(text), re.M):
        base = slug(m[1])
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


# -- the command line -----------------------------------------------------------------------------


# Typer builds click-style command objects (from its own copy of click): a group has ``commands``,
# an option has ``param_type_name == "option"``.
Command = Any


def is_group(cmd: Command) -> bool:
    return isinstance(getattr(cmd, "commands", None), dict)


@cache
def root_command() -> Command:
    cmd = typer.main.get_command(app)
    assert is_group(cmd)
    return cmd


def all_commands() -> Iterator[tuple[list[str], Command]]:
    def walk(cmd: Command, path: list[str]) -> Iterator[tuple[list[str], Command]]:
        yield path, cmd
        if is_group(cmd):
            for name, sub in cmd.commands.items():
                if not sub.hidden:
                    yield from walk(sub, [*path, name])

    return walk(root_command(), [])


def option_names(cmd: Command) -> set[str]:
    names = {"--help"}
    for p in cmd.params:
        if p.param_type_name == "option":
            names.update(p.opts)
            names.update(p.secondary_opts)
    return names


def help_output(path: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "400", "TERM": "dumb"})
    return result.exit_code, result.output


# -- the checks (each returns what is wrong, one line per problem) --------------------------------


def check_types(text: str) -> list[str]:
    return [f'type = "{m["type"]}" is not a registered source or sink type ({", ".join(sorted(TYPES))})'
            for m in TYPE_KEY.finditer(text) if m["type"] not in TYPES]


def check_snippets(text: str, tmp_path: Path) -> list[str]:
    problems = []
    for snippet in toml_snippets(text):
        try:
            config_from_dict(tomllib.loads(snippet), file=None, base_dir=tmp_path)
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            problems.append(f"snippet does not load: {type(exc).__name__}: {exc}\n{snippet}")
    return problems


def check_commands(text: str) -> list[str]:
    problems = []
    for code in code_texts(text):
        problems += [f"{m[0]!r}: `wafpipe` has no option {m['opt']}" for m in ROOT_OPTION.finditer(code)
                     if m["opt"] not in option_names(root_command())]
        for m in COMMAND.finditer(code):
            where = m[0].strip()
            cmd = root_command().commands.get(m["cmd"])
            if cmd is None:
                problems.append(f"{where!r}: there is no command `wafpipe {m['cmd']}`")
                continue
            rest = m["rest"]
            path = [m["cmd"]]
            if is_group(cmd):
                if m["sub"]:
                    subs = m["sub"].split("|")
                    missing = [s for s in subs if s not in cmd.commands]
                    if missing:
                        problems.append(f"{where!r}: `wafpipe {m['cmd']}` has no subcommand {', '.join(missing)}")
                        continue
                    if len(subs) == 1:
                        cmd, path = cmd.commands[subs[0]], [*path, subs[0]]
            elif m["sub"]:
                rest = m["sub"] + rest  # an argument, not a subcommand
            code_, _ = help_output(path)
            if code_ != 0:
                problems.append(f"{where!r}: `wafpipe {' '.join(path)} --help` exits {code_}")
            rest = re.sub(r"'[^']*'|\"[^\"]*\"", "", rest)  # quoted arguments (query expressions)
            rest = re.split(r"\s(?:\||;|&&|>|2>|#)", rest, maxsplit=1)[0]
            known = option_names(cmd)
            for opt in OPTION.findall(rest):
                if opt not in known:
                    problems.append(f"{where!r}: `wafpipe {' '.join(path)}` has no option {opt}")
    return problems


def check_outside(text: str) -> list[str]:
    return [f"refers to {m[0]!r}, which is not in the repository: {text[max(0, m.start() - 60):m.end() + 20]!r}"
            for m in OUTSIDE.finditer(text)]


def check_links(page: Path, text: str) -> list[str]:
    problems = []
    visible = SPAN.sub("", prose(text))
    targets = [m["target"].strip("<>") for m in LINK.finditer(visible)] + [m["target"] for m in REF_LINK.finditer(visible)]
    for target in targets:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, …
            continue
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            problems.append(f"link to {target!r}: {dest} does not exist")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text()):
            problems.append(f"link to {target!r}: {dest.name} has no heading with anchor #{anchor}")
    return problems


def check_paths(text: str) -> list[str]:
    return [f"`{s}` does not exist in the repository" for s in spans(text)
            if REPO_PATH.match(s) and not (ROOT / s).exists()]


# -- the tests -------------------------------------------------------------------------------------

page_ids = [p.relative_to(ROOT).as_posix() for p in PAGES]


def test_the_pages_are_there() -> None:
    names = set(page_ids)
    assert {"README.md", "docs/configuration.md", "docs/operations.md", "docs/formats.md",
            "docs/ecs-mapping.md", "docs/architecture.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=page_ids)
def test_every_type_is_registered(page: Path) -> None:
    assert check_types(page.read_text()) == []


@pytest.mark.parametrize("page", PAGES, ids=page_ids)
def test_every_config_snippet_loads(page: Path, tmp_path: Path) -> None:
    assert check_snippets(page.read_text(), tmp_path) == []


def test_readme_and_configuration_have_snippets_that_are_checked() -> None:
    """The snippet test must not pass because it found nothing to check."""
    for name in ("README.md", "docs/configuration.md"):
        assert toml_snippets((ROOT / name).read_text()), f"no [[sources]]/[[sinks]] snippet found in {name}"


def test_every_registered_type_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    documented = {m["type"] for m in re.finditer(r'^#+ .*`type = "(?P<type>[^"]+)"`', text, re.M)}
    assert documented == set(source_registry.COMPONENTS) | set(sink_registry.COMPONENTS)
    outputs = {m["type"] for m in re.finditer(r'^\| `type` \| `"(?P<type>[^"]+)"` \|', text, re.M)}
    assert TYPES - documented <= outputs  # each alert output has its table


@pytest.mark.parametrize("page", PAGES, ids=page_ids)
def test_every_command_and_option_exists(page: Path) -> None:
    assert check_commands(page.read_text()) == []


def test_commands_are_found_in_the_readme() -> None:
    """The command test must see the tour's commands (and so would see a wrong one)."""
    found = {m["cmd"] for code in code_texts((ROOT / "README.md").read_text()) for m in COMMAND.finditer(code)}
    assert {"generate", "parse", "run", "query", "deadletters", "elastic"} <= found


@pytest.mark.parametrize("page", PAGES, ids=page_ids)
def test_no_page_refers_to_files_outside_the_repository(page: Path) -> None:
    assert check_outside(page.read_text()) == []


def test_no_help_text_refers_to_files_outside_the_repository() -> None:
    problems = []
    for path, cmd in all_commands():
        code, out = help_output(path)
        assert code == 0, f"wafpipe {' '.join(path)} --help exits {code}:\n{out}"
        texts = [out, cmd.help or "", cmd.short_help or "", cmd.epilog or ""]
        texts += [getattr(p, "help", None) or "" for p in cmd.params]
        problems += [f"wafpipe {' '.join(path)} --help: {p}" for t in texts for p in check_outside(t)]
    assert problems == []


@pytest.mark.parametrize("page", PAGES, ids=page_ids)
def test_every_relative_link_resolves(page: Path) -> None:
    assert check_links(page, page.read_text()) == []


@pytest.mark.parametrize("page", PAGES, ids=page_ids)
def test_every_repository_path_exists(page: Path) -> None:
    assert check_paths(page.read_text()) == []


# -- docs/formats.md against the code --------------------------------------------------------------


def table_rows(text: str, start: str) -> list[list[str]]:
    """The body rows of the first table at or after ``start``, cells stripped of backticks."""
    table: list[str] = []
    for line in text[text.index(start):].splitlines():
        if line.startswith("|"):
            table.append(line)
        elif table:
            break
    rows = [[c.strip().replace("`", "") for c in line.strip().strip("|").split("|")]
            for line in table if not re.match(r"^\|[-| :]+\|$", line)]
    return rows[1:]  # without the header row


def test_formats_field_table_matches_the_field_table() -> None:
    rows = table_rows((ROOT / "docs" / "formats.md").read_text(), "## Imperva's fields")
    cef = {re.sub(r"\s*\(.*\)$", "", r[0]).lower(): r for r in rows}
    assert set(cef) == {f.key for f in FIELDS}
    for f in FIELDS:
        assert cef[f.key][4] == f.path, f"{f.key}: docs say {cef[f.key][4]}, the table {f.path}"
    leef = {r[1].lower(): key for key, r in cef.items() if r[1]}
    assert leef == LEEF_ALIASES
    w3c = {r[2].lower(): key for key, r in cef.items() if r[2]}
    assert w3c == {col: key for col, key in W3C_COLUMNS.items() if key in cef}


def test_formats_rule_types_match_the_code() -> None:
    rows = table_rows((ROOT / "docs" / "formats.md").read_text(), "| rule-type id |")
    documented = {int(r[0]): r[1] for r in rows}
    assert set(documented) == set(RULE_TYPES)
    for rid, name in RULE_TYPES.items():
        assert documented[rid].startswith(name), (rid, documented[rid], name)


# -- the checks themselves fail on what does not exist ------------------------------------------


def test_checks_catch_a_type_that_is_not_registered(tmp_path: Path) -> None:
    page = '```toml\n[[sources]]\ntype = "azure_queue"\nqueue = "logs"\n```\nOr `type = "ndjson"` for a sink.\n'
    assert len(check_types(page)) == 2
    assert len(check_snippets(page, tmp_path)) == 1


def test_checks_catch_a_command_that_does_not_exist() -> None:
    page = ("Run `wafpipe frobnicate -c wafpipe.toml`, then\n\n```\n.venv/bin/wafpipe store vacuum\n"
            "wafpipe report weekly --from 2024-01-01\nwafpipe deadletters list|purge\nwafpipe elastic teardown\n"
            "wafpipe run -c x.toml --format cef\nwafpipe --verbose run\n```\n")
    problems = check_commands(page)
    for word in ("frobnicate", "store", "report", "purge", "teardown", "--format", "--verbose"):
        assert any(word in p for p in problems), (word, problems)
    good = ("`wafpipe deadletters list|replay`, `wafpipe run -c wafpipe.toml --once`, "
            "`wafpipe query EXPR [--limit N] [--count]`, `wafpipe parse x.log --keys k | head`, `wafpipe --help`")
    assert check_commands(good) == []


def test_checks_catch_references_outside_and_broken_links(tmp_path: Path) -> None:
    assert len(check_outside("see FORMATS.md §1.5 and DESIGN §4, in ../shared/")) == 3
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[a](missing.md) [b](#nowhere) [c](#title) [d](https://example.com)\n")
    assert len(check_links(page, page.read_text())) == 2
    assert len(check_paths("`src/wafpipe/ecs/fields.py` and `src/wafpipe/fields/table.py`")) == 1
