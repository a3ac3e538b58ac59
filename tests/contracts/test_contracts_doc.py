"""docs/contracts.md against the `contracts` package, so the page cannot drift from the code.

Each test reads one section of the page and compares what it states (tables, example keys, the example
command, the example result) with what the constants and functions of `contracts` produce. Renaming a
constant, a path, an entity, a job, an option or an argument without updating the page fails here.
Only the standard library and `contracts` are imported: no Spark, no Prefect.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import shlex
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import get_args

import pytest

from contracts import api, lake, landing, names
from contracts.jobs import (
    DELTA_ENGINES,
    JOB_NAMES,
    JOBS,
    PAN_KEY_ENV,
    JobOptions,
    JobRequest,
    ScoreOptions,
    StreamOptions,
    StreamRequest,
)
from contracts.results import JobResult, JobStatus, TableCounts
from contracts.tables import STAR_TABLES

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "contracts.md"
CONTRACTS_PACKAGE = REPO / "contracts"
# The window of the page's examples.
SAMPLE_WINDOW = landing.Window(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 2, tzinfo=UTC))
SAMPLE_ENTITY = "transactions"


@cache
def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def section(number: int) -> str:
    """The text of `## <number>. ...` up to the next `## ` heading."""
    text = doc_text()
    heading = re.search(rf"^## {number}\. .*$", text, re.MULTILINE)
    assert heading, f"docs/contracts.md has no section {number}"
    following = re.search(r"^## ", text[heading.end() :], re.MULTILINE)
    return text[heading.start() : heading.end() + following.start()] if following else text[heading.start() :]


def backticked(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def single_name(cell: str) -> str:
    found = backticked(cell)
    assert len(found) == 1, f"expected one `name` in the table cell {cell!r}"
    return found[0]


def cells_of(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def table_rows(text: str, header: tuple[str, ...]) -> list[list[str]]:
    """The body rows of the markdown table in `text` whose header cells are exactly `header`."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("|") and tuple(cells_of(line)) == header]
    assert len(starts) == 1, f"expected one table with the header {header} in the section, found {len(starts)}"
    rows = []
    for line in lines[starts[0] + 2 :]:  # skip the header and its | --- | line
        if not line.startswith("|"):
            break
        rows.append(cells_of(line))
    return rows


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block in `text`."""
    return re.findall(r"^```(\w*)\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def constants_of(module: object, kind: type | tuple[type, ...]) -> dict[str, object]:
    return {name: value for name, value in vars(module).items() if name.isupper() and isinstance(value, kind)}


# ------------------------------------------------------------------------------------------------- the page


def test_every_module_of_contracts_is_named_in_the_doc() -> None:
    modules = sorted(path.stem for path in CONTRACTS_PACKAGE.glob("*.py") if path.stem != "__init__")
    assert {"api", "landing", "lake", "jobs", "results", "names", "tables"} <= set(modules)
    missing = [module for module in modules if f"`contracts.{module}`" not in doc_text()]
    assert not missing, f"docs/contracts.md does not name these modules of contracts/: {missing}"


# ------------------------------------------------------------------------------------ section 1: the card API


def test_api_paths_are_those_of_contracts_api() -> None:
    text = section(1)
    for path in (api.LOGIN_PATH, api.REFRESH_PATH, api.HEALTH_PATH):
        assert f"`{path}`" in text, f"section 1 does not show the path {path}"
    for entity, path in api.ENTITY_PATHS.items():
        assert f"`GET {path}`" in text, f"section 1 does not describe the {entity} endpoint `GET {path}`"


# -------------------------------------------------------------------------------- section 2: the landing zone


def test_entity_table_lists_every_entity_with_its_endpoint_and_id_field() -> None:
    rows = table_rows(section(2), ("entity", "endpoint", "id field"))
    documented = [tuple(single_name(cell) for cell in row) for row in rows]
    expected = [(entity, api.ENTITY_PATHS[entity], landing.ID_FIELDS[entity]) for entity in landing.ENTITIES]
    assert documented == expected


def test_example_keys_are_what_contracts_landing_builds() -> None:
    text = section(2)
    source, window = landing.DEFAULT_SOURCE, SAMPLE_WINDOW
    assert SAMPLE_ENTITY in landing.ENTITIES
    examples = [
        landing.iso(window.start),
        landing.iso(window.end),
        window.label,
        source,
        SAMPLE_ENTITY,
        landing.page_key(source, SAMPLE_ENTITY, window, 1),
        landing.manifest_key(source, SAMPLE_ENTITY, window),
        landing.watermark_key(source, SAMPLE_ENTITY),
    ]
    missing = [example for example in examples if f"`{example}`" not in text]
    assert not missing, f"section 2 does not show these keys exactly as contracts.landing builds them: {missing}"
    assert landing.Window.from_label(window.label) == window


def test_key_patterns_are_what_contracts_landing_builds() -> None:
    window, label = SAMPLE_WINDOW, SAMPLE_WINDOW.label
    page = (
        landing.page_key("<source>", "<entity>", window, 1)
        .replace(label, "<window>")
        .replace(f"ingest_date={window.start:%Y-%m-%d}", "ingest_date=<YYYY-MM-DD of window start>")
        .replace(f"-{1:05d}{landing.PAGE_SUFFIX}", f"-<page:05d>{landing.PAGE_SUFFIX}")
    )
    patterns = [
        page,
        landing.manifest_key("<source>", "<entity>", window).replace(label, "<window>"),
        landing.watermark_key("<source>", "<entity>"),
        landing.landed_table("<entity>"),
    ]
    text = section(2)
    missing = [pattern for pattern in patterns if f"`{pattern}`" not in text]
    assert not missing, f"section 2 does not show these layouts as contracts.landing builds them: {missing}"


# ------------------------------------------------------------------------------------------ section 3: the lake


def test_lake_table_constants_are_listed_with_their_paths() -> None:
    rows = table_rows(section(3), ("constant", "path"))
    documented = {single_name(name): single_name(path) for name, path in rows}
    assert len(documented) == len(rows), "section 3 lists a lake table twice"
    expected = {name: table.path for name, table in constants_of(lake, lake.LakeTable).items()}
    assert expected, "contracts.lake defines no LakeTable constant"
    assert documented == expected


def test_gold_copies_of_the_star_tables_are_listed() -> None:
    text = section(3)
    paths = [lake.gold_star_table(table.name).path for table in STAR_TABLES]
    missing = [path for path in paths if f"`{path}`" not in text]
    assert not missing, f"section 3 does not list the gold star tables {missing}"


def test_export_and_run_layouts_are_what_contracts_lake_builds() -> None:
    root = "s3://bucket/lake"  # a remote root: local ones are made absolute
    exports_root = lake.exports_root(root)
    manifest = lake.export_manifest_uri(lake.export_uri(exports_root, "<run_id>"))
    assert manifest.startswith(f"{root}/")
    text = section(3)
    for path in (
        exports_root.replace(root, "<lake>"),
        manifest.removeprefix(f"{root}/"),
        lake.job_result_uri("<lake>", "<run_id>", "<job>"),
        lake.default_models_root("<lake>"),
    ):
        assert f"`{path}`" in text, f"section 3 does not show {path} as contracts.lake builds it"


# ------------------------------------------------------------------------------------- section 4: Spark jobs


def a_full_request() -> tuple[JobRequest, str]:
    """A request that uses every argument, optional ones included."""
    request = JobRequest(
        jobs=JOBS,
        landing_uri="s3://bucket/landing",
        lake_uri="s3://bucket/lake",
        window=SAMPLE_WINDOW,
        run_id=SAMPLE_WINDOW.label,
        delta_engine="delta-spark",
        options=JobOptions(score=ScoreOptions(threshold=0.7)),
    )
    return request, "arn:aws:secretsmanager:eu-west-2:123456789012:secret:cardlake/pan-token-key"


def test_jobs_are_listed_in_run_order_with_their_options() -> None:
    rows = table_rows(section(4), ("job", "options", "fields"))
    documented = [(single_name(job), single_name(options), tuple(backticked(fields))) for job, options, fields in rows]
    defaults = JobOptions()
    expected = []
    for job_field in dataclasses.fields(JobOptions):
        options = getattr(defaults, job_field.name)
        expected.append((job_field.name, type(options).__name__, tuple(f.name for f in dataclasses.fields(options))))
    assert tuple(job for job, _, _ in expected) == JOB_NAMES, "JobOptions needs one field per job, in JobName order"
    assert JOB_NAMES[: len(JOBS)] == JOBS, "the batch chain comes first, in run order"
    assert documented == expected


def test_engines_and_the_pan_key_variable_are_named() -> None:
    text = section(4)
    for name in (*DELTA_ENGINES, PAN_KEY_ENV, lake.job_result_uri("<lake>", "<run_id>", "<job>")):
        assert f"`{name}`" in text, f"section 4 does not name {name}"


def test_the_arguments_are_exactly_those_of_job_request() -> None:
    request, secret_id = a_full_request()
    stream = StreamRequest("s3://b/landing", "s3://b/lake", stream=StreamOptions(trigger_seconds=5.0))
    argv = [*request.to_argv(secret_id), *stream.to_argv(secret_id)]
    arguments = {word for word in argv if word.startswith("--")}
    documented = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", section(4)))
    assert documented == arguments, (
        f"section 4 misses {sorted(arguments - documented)} and names unknown {sorted(documented - arguments)}"
    )


def test_the_example_command_is_what_to_argv_writes() -> None:
    commands = [body for _, body in fenced_blocks(section(4)) if body.startswith("spark-submit spark_jobs/main.py")]
    assert len(commands) == 1, "section 4 needs one example command starting `spark-submit spark_jobs/main.py`"
    words = shlex.split(commands[0].replace("\\\n", " "))
    argv = words[words.index("spark_jobs/main.py") + 1 :]
    request, secret_id = JobRequest.from_argv(argv)
    assert secret_id, "the example should show --pan-key-secret-id"
    assert request.options != JobOptions(), "the example should show --options"
    assert request.to_argv(secret_id) == argv, "the example is not what JobRequest.to_argv writes for its request"


def test_the_result_example_has_the_shape_of_job_result() -> None:
    examples = [body for language, body in fenced_blocks(section(4)) if language == "json"]
    assert len(examples) == 1, "section 4 needs one ```json example of a job result"
    body = json.loads(examples[0])
    assert list(body) == [f.name for f in dataclasses.fields(JobResult)]
    assert body["tables"], "the example result should show at least one table"
    for table in body["tables"]:
        assert list(table) == [f.name for f in dataclasses.fields(TableCounts)]
    result = JobResult.from_json(examples[0])
    assert json.loads(result.to_json()) == body
    assert result.job in JOBS and result.run_id == SAMPLE_WINDOW.label
    assert all(t.reconciles for t in result.tables if t.read)
    text = section(4)
    for status in get_args(JobStatus):
        assert f"`{status}`" in text, f"section 4 does not name the job status {status}"


# -------------------------------------------------------------------------------- section 5: deployment names


def test_names_table_lists_every_constant_of_contracts_names() -> None:
    rows = table_rows(section(5), ("constant", "value", "what"))
    documented = {single_name(name): tuple(backticked(value)) for name, value, _ in rows}
    assert len(documented) == len(rows), "section 5 lists a constant twice"
    expected = {
        name: (value,) if isinstance(value, str) else value for name, value in constants_of(names, (str, tuple)).items()
    }
    assert documented == expected


@pytest.mark.parametrize(
    ("thing", "suffix"),
    [("Prefect blocks", "_BLOCK"), ("Prefect work pools", "_WORK_POOL"), ("Prefect artifacts", "_ARTIFACT")],
)
def test_deployment_rows_name_exactly_the_constants(thing: str, suffix: str) -> None:
    rows = [cells for cells in table_rows(section(5), ("thing", "name")) if cells[0] == thing]
    assert len(rows) == 1, f"section 5 needs one row {thing!r}"
    documented = set(backticked(rows[0][1]))
    expected = {value for name, value in constants_of(names, str).items() if name.endswith(suffix)}
    assert documented == expected


def test_artifact_keys_are_valid_prefect_artifact_keys() -> None:
    for name, key in constants_of(names, str).items():
        if name.endswith("_ARTIFACT"):
            assert re.fullmatch(r"[a-z0-9-]*", key), f"{name} = {key!r} is not a valid Prefect artifact key"


# ---------------------------------------------------------------------------------- the package's own rule


def test_contracts_imports_only_the_standard_library_and_itself() -> None:
    modules = sorted(CONTRACTS_PACKAGE.rglob("*.py"))
    assert len(modules) >= 8, "could not find the modules of contracts/"
    problems = []
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported = [node.module]
            else:  # relative imports stay inside contracts
                continue
            for module in imported:
                top = module.split(".")[0]
                if top != "contracts" and top not in sys.stdlib_module_names:
                    problems.append(f"{path.relative_to(REPO)}:{node.lineno} imports {module}")
    assert not problems, "contracts must import only the standard library and itself:\n" + "\n".join(problems)
