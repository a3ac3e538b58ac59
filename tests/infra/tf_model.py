"""Read infra/*.tf with python-hcl2 and docs/contracts.md section 5, for the static infrastructure tests.

The `hcl2` module here is the one checkov depends on (bc-python-hcl2, a fork of python-hcl2 with the same
`import hcl2` API): attribute values come wrapped in one-element lists and expressions as "${...}" strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
CONTRACTS = REPO / "docs" / "contracts.md"

_REF = re.compile(r"\$\{(var|local)\.([A-Za-z0-9_.]+)\}")
_DOC_REF = re.compile(r"^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_]+)\.json\}$")


def tf_files() -> list[Path]:
    return sorted(INFRA.glob("*.tf"))


def parse_file(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle)


@cache
def module() -> dict[str, list[dict[str, Any]]]:
    """Top-level blocks of every .tf file of the root module, merged by block kind."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for path in tf_files():
        for kind, entries in parse_file(path).items():
            merged.setdefault(kind, []).extend(entries)
    return merged


def attr(block: dict[str, Any], name: str, default: Any = None) -> Any:
    """An attribute's value without the one-element list the parser wraps it in."""
    if name not in block:
        return default
    value = block[name]
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def nested(block: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Nested blocks (statement, principals, condition, ingress...) as a list of dicts."""
    return [b for b in block.get(name, []) if isinstance(b, dict)]


def _typed(kind: str, type_name: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entry in module().get(kind, []):
        for name, body in entry.get(type_name, {}).items():
            found[name] = body
    return found


def resources(type_name: str) -> dict[str, dict[str, Any]]:
    return _typed("resource", type_name)


def data_sources(type_name: str) -> dict[str, dict[str, Any]]:
    return _typed("data", type_name)


def all_resources() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for entry in module().get("resource", []):
        for type_name, named in entry.items():
            for name, body in named.items():
                yield type_name, name, body


def variables() -> dict[str, dict[str, Any]]:
    return {name: body for entry in module().get("variable", []) for name, body in entry.items()}


def outputs() -> dict[str, dict[str, Any]]:
    return {name: body for entry in module().get("output", []) for name, body in entry.items()}


def locals_() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for entry in module().get("locals", []):
        merged.update({k: attr(entry, k) for k in entry if not k.startswith("__")})
    return merged


def resolve(value: Any) -> Any:
    """Substitute `${var.x}` (its default) and `${local.a.b}` where they are plain values; keep the rest."""
    if isinstance(value, list):
        return [resolve(v) for v in value]
    if not isinstance(value, str):
        return value
    defaults = {name: attr(body, "default") for name, body in variables().items()}
    local_values = locals_()

    def lookup(match: re.Match[str]) -> str:
        scope, path = match.group(1), match.group(2).split(".")
        current: Any = defaults if scope == "var" else local_values
        for part in path:
            if not isinstance(current, dict) or part not in current:
                return match.group(0)
            current = current[part]
        return current if isinstance(current, str) else match.group(0)

    whole = _REF.fullmatch(value)
    if whole and whole.group(1) == "var" and whole.group(2) in defaults:
        plain = defaults[whole.group(2)]
        if not isinstance(plain, str):
            return plain
    return _REF.sub(lookup, value)


def referenced_policy_document(value: Any) -> str | None:
    """Name of the aws_iam_policy_document a `policy = ...json` attribute points at, if it does."""
    match = _DOC_REF.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def statements(document_name: str) -> list[dict[str, Any]]:
    """Statements of an aws_iam_policy_document, normalised to plain lists with var/local resolved."""
    document = data_sources("aws_iam_policy_document")[document_name]
    normalised = []
    for statement in nested(document, "statement"):
        normalised.append(
            {
                "sid": attr(statement, "sid", ""),
                "effect": attr(statement, "effect", "Allow"),
                "actions": as_list(attr(statement, "actions")),
                "not_actions": as_list(attr(statement, "not_actions")),
                "resources": as_list(resolve(attr(statement, "resources"))),
                "not_resources": as_list(attr(statement, "not_resources")),
                "principals": nested(statement, "principals"),
                "conditions": {
                    (attr(c, "test"), attr(c, "variable")): as_list(resolve(attr(c, "values")))
                    for c in nested(statement, "condition")
                },
            }
        )
    return normalised


def wildcard_grants(normalised: list[dict[str, Any]]) -> list[str]:
    """Allow statements that grant every action on every resource (or an Allow with NotAction)."""
    problems = []
    for statement in normalised:
        if statement["effect"] != "Allow":
            continue
        every_action = any(a in ("*", "*:*") for a in statement["actions"])
        every_resource = "*" in statement["resources"] or (
            not statement["resources"] and not statement["not_resources"]
        )
        if every_action and every_resource:
            problems.append(f"{statement['sid'] or '<no sid>'}: '*' action on '*' resource")
        if statement["not_actions"]:
            problems.append(f"{statement['sid'] or '<no sid>'}: Allow with NotAction")
    return problems


# ------------------------------------------------------------------------------------ docs/contracts.md


def contract_section5() -> str:
    text = CONTRACTS.read_text()
    start = text.index("## 5.")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def contract_names() -> dict[str, list[str]]:
    """Rows of the section 5 table: first cell (plain text) -> backticked names of the second cell."""
    rows: dict[str, list[str]] = {}
    for line in contract_section5().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("thing", "---"):
            continue
        rows[cells[0]] = re.findall(r"`([^`]+)`", cells[1])
    return rows


def contract_row(prefix: str) -> list[str]:
    matches = [names for thing, names in contract_names().items() if thing.startswith(prefix)]
    assert len(matches) == 1, f"docs/contracts.md section 5 has no single row starting with {prefix!r}"
    return matches[0]


def contract_outputs() -> list[str]:
    section = contract_section5()
    start = section.index("Terraform outputs")
    return re.findall(r"`([^`]+)`", section[start:])
