"""Publish the run summary as Prefect artifacts: the markdown summary and the rows-per-stage table."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from cardlake.summary import RunSummary, markdown, stage_rows
from contracts.names import ROWS_PER_STAGE_ARTIFACT, RUN_SUMMARY_ARTIFACT


@task(name="publish-run-report", cache_policy=NO_CACHE)
def publish_report(summary: RunSummary) -> str:
    text = markdown(summary)
    create_markdown_artifact(key=RUN_SUMMARY_ARTIFACT, markdown=text, description=f"run {summary.run_id}")
    create_table_artifact(key=ROWS_PER_STAGE_ARTIFACT, table=stage_rows(summary), description=f"run {summary.run_id}")
    return text
