"""The Spark jobs' interface (docs/contracts.md section 4): names, typed options, and the argument list.

    spark-submit spark_jobs/main.py --job silver,gold --landing-uri URI --lake-uri URI \
        --window-start 2025-06-01T00:00:00Z --window-end 2025-07-01T00:00:00Z --run-id ID \
        [--delta-engine delta-rs|delta-spark] [--source cardapi] [--options JSON] [--pan-key-secret-id ARN]

A runner builds a `JobRequest` and writes it with `to_argv`; `spark_jobs/main.py` reads it back with
`JobRequest.from_argv`, once. Options are one frozen dataclass per job: a misspelt option or a value of the
wrong type fails where the request is built (at submit time), naming the job, the option and the known ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from contracts.lake import stream_checkpoint_uri, stream_exports_root
from contracts.landing import DEFAULT_SOURCE, Window, iso, parse_iso

JobName = Literal["silver", "gold", "features", "score", "star", "export", "maintain"]
# Every job a request may name (the order of `JobOptions`' fields).
JOB_NAMES: tuple[JobName, ...] = get_args(JobName)
# The batch chain, in the order every run executes it; `maintain` runs on its own schedule, never in the chain.
JOBS: tuple[JobName, ...] = ("silver", "gold", "features", "score", "star", "export")
DeltaEngine = Literal["delta-rs", "delta-spark"]
DELTA_ENGINES: tuple[DeltaEngine, ...] = get_args(DeltaEngine)
ScoreSelection = Literal["changed", "window"]
# The PAN token key reaches a job through this environment variable (local runners) or Secrets Manager (EMR),
# never through an argument.
PAN_KEY_ENV = "CARDLAKE_PAN_TOKEN_KEY"


@dataclass(frozen=True)
class LocalSpark:
    """How a session started in this process runs; under spark-submit or EMR the submitter decides instead."""

    master: str = "local[2]"
    # Spark's default of 200 shuffle partitions is mostly task overhead on a small local batch.
    shuffle_partitions: int = 4
    driver_memory: str = "4g"
    log_level: str = "ERROR"  # Spark's WARN chatter buries the messages a person should read
    log_file: str | None = None  # where the JVM's own log lines go (None: only errors, on stderr)


class JobOptionsError(ValueError):
    """A job option that no job knows, or a value of the wrong type: the message names both."""


@dataclass(frozen=True)
class SilverOptions:
    """Silver takes no options: what it reads is the window's manifests."""


@dataclass(frozen=True)
class GoldOptions:
    """Gold takes no options: it re-resolves every reward the run touched."""


@dataclass(frozen=True)
class FeaturesOptions:
    full_refresh: bool = False  # recompute every card, e.g. after a silver dimension was corrected


@dataclass(frozen=True)
class ScoreOptions:
    model_uri: str | None = None  # a model version folder; None: the registry's LATEST under models_root
    models_root: str | None = None  # None: <lake>/models
    threshold: float | None = None  # None: the threshold the model was trained with
    select: ScoreSelection = "changed"  # "window": every feature row with transaction_ts in the window
    now: datetime | None = None  # first_seen_at of new alerts; None: the wall clock

    def __post_init__(self) -> None:
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise JobOptionsError(f"score.threshold must be between 0 and 1, got {self.threshold}")


@dataclass(frozen=True)
class StarOptions:
    full_refresh: bool = False  # rebuild every star table from all of silver


@dataclass(frozen=True)
class ExportOptions:
    exports_uri: str | None = None  # None: <lake>/exports


@dataclass(frozen=True)
class MaintainOptions:
    """Compaction and clean-up of every lake table (the `maintenance` deployment's job)."""

    # Files no longer in a table's log are deleted once older than this. Below Delta's own default of 7 days a
    # reader still planning on an older version (a long EMR job, a Looker extract) can lose its files.
    retention_hours: float = 168.0
    compact: bool = True
    vacuum: bool = True

    def __post_init__(self) -> None:
        if self.retention_hours < 0:
            raise JobOptionsError(f"maintain.retention_hours must not be negative, got {self.retention_hours}")


@dataclass(frozen=True)
class JobOptions:
    """The options of every job of a request; each field is named after its job."""

    silver: SilverOptions = field(default_factory=SilverOptions)
    gold: GoldOptions = field(default_factory=GoldOptions)
    features: FeaturesOptions = field(default_factory=FeaturesOptions)
    score: ScoreOptions = field(default_factory=ScoreOptions)
    star: StarOptions = field(default_factory=StarOptions)
    export: ExportOptions = field(default_factory=ExportOptions)
    maintain: MaintainOptions = field(default_factory=MaintainOptions)

    def for_job(self, job: JobName) -> Any:
        return getattr(self, job)

    def to_json(self) -> str:
        """Only the options that differ from their defaults, so the argument list stays short and readable."""
        return _options_json({job: self.for_job(job) for job in JOB_NAMES})

    @classmethod
    def from_mapping(cls, mapping: dict[str, Any]) -> JobOptions:
        """Strict: an unknown job or option, or a value of the wrong type, raises JobOptionsError."""
        if not isinstance(mapping, dict):
            raise JobOptionsError(f"job options must be an object keyed by job name, got {type(mapping).__name__}")
        unknown_jobs = sorted(set(mapping) - set(JOB_NAMES))
        if unknown_jobs:
            known = ", ".join(JOB_NAMES)
            raise JobOptionsError(f"options for unknown job(s) {', '.join(unknown_jobs)}; jobs: {known}")
        values = {job: _options_of(job, _OPTION_CLASSES[job], raw) for job, raw in mapping.items()}
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> JobOptions:
        try:
            mapping = json.loads(text) if text else {}
        except json.JSONDecodeError as exc:
            raise JobOptionsError(f"--options is not valid JSON: {exc}") from exc
        return cls.from_mapping(mapping)


def _options_and_secret_args(options_json: str, pan_key_secret_id: str | None) -> list[str]:
    """The arguments every Spark entry point ends with: typed options (when not all defaults), the secret's id."""
    args = ["--options", options_json] if options_json != "{}" else []
    return args + (["--pan-key-secret-id", pan_key_secret_id] if pan_key_secret_id else [])


def _options_json(options_by_name: dict[str, Any]) -> str:
    """JSON of the options that differ from their defaults, keyed by name; sorted keys, no spaces."""
    changed: dict[str, dict[str, Any]] = {}
    for name, options in options_by_name.items():
        default = type(options)()
        values = {
            f.name: _jsonable(getattr(options, f.name))
            for f in dataclasses.fields(options)
            if getattr(options, f.name) != getattr(default, f.name)
        }
        if values:
            changed[name] = values
    return json.dumps(changed, sort_keys=True, separators=(",", ":"))


_OPTION_CLASSES: dict[str, type] = {
    "silver": SilverOptions,
    "gold": GoldOptions,
    "features": FeaturesOptions,
    "score": ScoreOptions,
    "star": StarOptions,
    "export": ExportOptions,
    "maintain": MaintainOptions,
}


def _options_of(job: str, options_class: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise JobOptionsError(f"options of job {job!r} must be an object, got {raw!r}")
    hints = get_type_hints(options_class)
    known = [f.name for f in dataclasses.fields(options_class)]
    unknown = sorted(set(raw) - set(known))
    if unknown:
        choices = ", ".join(known) if known else "none"
        raise JobOptionsError(f"job {job!r} has no option {', '.join(map(repr, unknown))}; its options: {choices}")
    return options_class(**{name: _typed(f"{job}.{name}", value, hints[name]) for name, value in raw.items()})


def _typed(name: str, value: Any, hint: Any) -> Any:
    """`value` checked against (and, for times, parsed into) the option's annotated type."""
    options = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
    for option in options:
        if option is type(None) and value is None:
            return None
        if get_origin(option) is Literal and value in get_args(option):
            return value
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option is str and isinstance(value, str):
            return value
        if option is datetime and isinstance(value, str):
            try:
                return parse_iso(value)
            except ValueError:
                continue
    raise JobOptionsError(f"option {name} expects {_describe(hint)}, got {value!r}")


def _describe(hint: Any) -> str:
    options = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
    names = []
    for option in options:
        if get_origin(option) is Literal:
            names.append(" or ".join(map(repr, get_args(option))))
        else:
            names.append("null" if option is type(None) else getattr(option, "__name__", str(option)))
    return " or ".join(names)


def _jsonable(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


def check_jobs(jobs: tuple[str, ...]) -> tuple[JobName, ...]:
    if not jobs:
        raise ValueError("a job request needs at least one job")
    unknown = [job for job in jobs if job not in JOB_NAMES]
    if unknown:
        raise ValueError(f"unknown job(s) {', '.join(unknown)}; choose from {', '.join(JOB_NAMES)}")
    return jobs  # type: ignore[return-value]


@dataclass(frozen=True)
class JobRequest:
    """One Spark application running `jobs` in order for one window of the landing zone."""

    jobs: tuple[JobName, ...]
    landing_uri: str
    lake_uri: str
    window: Window
    run_id: str
    delta_engine: DeltaEngine = "delta-rs"
    source: str = DEFAULT_SOURCE
    options: JobOptions = field(default_factory=JobOptions)

    def __post_init__(self) -> None:
        object.__setattr__(self, "jobs", check_jobs(tuple(self.jobs)))
        if self.delta_engine not in DELTA_ENGINES:
            raise ValueError(f"delta_engine must be one of {', '.join(DELTA_ENGINES)}, got {self.delta_engine!r}")
        if not self.run_id:
            raise ValueError("run_id must not be empty")

    def to_argv(self, pan_key_secret_id: str | None = None) -> list[str]:
        """The arguments of spark_jobs/main.py (the PAN key itself is never one of them)."""
        argv = [
            "--job", ",".join(self.jobs),
            "--landing-uri", self.landing_uri,
            "--lake-uri", self.lake_uri,
            "--window-start", iso(self.window.start),
            "--window-end", iso(self.window.end),
            "--run-id", self.run_id,
            "--delta-engine", self.delta_engine,
            "--source", self.source,
        ]  # fmt: skip
        return argv + _options_and_secret_args(self.options.to_json(), pan_key_secret_id)

    @classmethod
    def from_argv(cls, argv: list[str]) -> tuple[JobRequest, str | None]:
        """(request, PAN key secret id); a bad argument exits with argparse's usage message."""
        parser = argparse.ArgumentParser(prog="spark_jobs/main.py", description="Run cardlake's Spark jobs.")
        parser.add_argument("--job", required=True, help=f"comma-separated, in order; any of {', '.join(JOB_NAMES)}")
        parser.add_argument("--landing-uri", required=True)
        parser.add_argument("--lake-uri", required=True)
        parser.add_argument("--window-start", required=True, type=parse_iso)
        parser.add_argument("--window-end", required=True, type=parse_iso)
        parser.add_argument("--run-id", required=True)
        parser.add_argument("--delta-engine", default="delta-rs", choices=DELTA_ENGINES)
        parser.add_argument("--source", default=DEFAULT_SOURCE)
        parser.add_argument("--options", default="{}", help='JSON keyed by job, e.g. {"score": {"threshold": 0.7}}')
        parser.add_argument("--pan-key-secret-id", default=None, help="Secrets Manager id of the PAN token key (EMR)")
        args = parser.parse_args(argv)
        try:
            request = cls(
                jobs=tuple(args.job.split(",")),
                landing_uri=args.landing_uri,
                lake_uri=args.lake_uri,
                window=Window(args.window_start, args.window_end),
                run_id=args.run_id,
                delta_engine=args.delta_engine,
                source=args.source,
                options=JobOptions.from_json(args.options),
            )
        except ValueError as problem:
            parser.error(str(problem))
        return request, args.pan_key_secret_id


# The first argument of spark_jobs/main.py that makes it run the alerts stream instead of batch jobs.
STREAM_ARG = "--stream"


@dataclass(frozen=True)
class StreamOptions:
    """How the alerts stream runs (spark_jobs/jobs/stream.py); its scoring takes `ScoreOptions`."""

    trigger_seconds: float = 1.0  # seconds between two micro-batches
    max_manifests_per_batch: int = 200  # a backlog after a restart is taken in bounded micro-batches
    exports_uri: str | None = None  # None: contracts.lake.stream_exports_root(<lake>)

    def __post_init__(self) -> None:
        if self.trigger_seconds <= 0:
            raise JobOptionsError(f"stream.trigger_seconds must be positive, got {self.trigger_seconds}")
        if self.max_manifests_per_batch < 1:
            raise JobOptionsError(
                f"stream.max_manifests_per_batch must be at least 1, got {self.max_manifests_per_batch}"
            )


_STREAM_OPTION_CLASSES: dict[str, type] = {"stream": StreamOptions, "score": ScoreOptions}


@dataclass(frozen=True)
class StreamRequest:
    """One long-running Spark application running the alerts stream over a landing zone into a lake.

    Its checkpoint is `contracts.lake.stream_checkpoint_uri(lake_uri)` and each micro-batch's changed alerts are
    exported under `exports_root`: both follow from the lake, so the submitter and the driver never disagree.
    """

    landing_uri: str
    lake_uri: str
    delta_engine: DeltaEngine = "delta-rs"
    source: str = DEFAULT_SOURCE
    stream: StreamOptions = field(default_factory=StreamOptions)
    score: ScoreOptions = field(default_factory=ScoreOptions)

    def __post_init__(self) -> None:
        if self.delta_engine not in DELTA_ENGINES:
            raise ValueError(f"delta_engine must be one of {', '.join(DELTA_ENGINES)}, got {self.delta_engine!r}")

    @property
    def checkpoint_uri(self) -> str:
        return stream_checkpoint_uri(self.lake_uri)

    @property
    def exports_root(self) -> str:
        return self.stream.exports_uri or stream_exports_root(self.lake_uri)

    def to_argv(self, pan_key_secret_id: str | None = None) -> list[str]:
        """The arguments of spark_jobs/main.py for the stream (the PAN key itself is never one of them)."""
        argv = [
            STREAM_ARG,
            "--landing-uri", self.landing_uri,
            "--lake-uri", self.lake_uri,
            "--delta-engine", self.delta_engine,
            "--source", self.source,
        ]  # fmt: skip
        return argv + _options_and_secret_args(
            _options_json({"score": self.score, "stream": self.stream}), pan_key_secret_id
        )

    @classmethod
    def from_argv(cls, argv: list[str]) -> tuple[StreamRequest, str | None]:
        """(request, PAN key secret id); a bad argument exits with argparse's usage message."""
        parser = argparse.ArgumentParser(
            prog=f"spark_jobs/main.py {STREAM_ARG}", description="Run cardlake's alerts stream."
        )
        parser.add_argument(STREAM_ARG, action="store_true", required=True)
        parser.add_argument("--landing-uri", required=True)
        parser.add_argument("--lake-uri", required=True)
        parser.add_argument("--delta-engine", default="delta-rs", choices=DELTA_ENGINES)
        parser.add_argument("--source", default=DEFAULT_SOURCE)
        parser.add_argument("--options", default="{}", help='JSON, e.g. {"stream": {"trigger_seconds": 5}}')
        parser.add_argument("--pan-key-secret-id", default=None, help="Secrets Manager id of the PAN token key (EMR)")
        args = parser.parse_args(argv)
        try:
            options = _stream_options(args.options)
            request = cls(
                landing_uri=args.landing_uri,
                lake_uri=args.lake_uri,
                delta_engine=args.delta_engine,
                source=args.source,
                stream=options.get("stream", StreamOptions()),
                score=options.get("score", ScoreOptions()),
            )
        except ValueError as problem:
            parser.error(str(problem))
        return request, args.pan_key_secret_id


def _stream_options(text: str) -> dict[str, Any]:
    """Strict, like `JobOptions.from_json`: only `stream` and `score`, each with its own known options."""
    try:
        mapping = json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        raise JobOptionsError(f"--options is not valid JSON: {exc}") from exc
    if not isinstance(mapping, dict):
        raise JobOptionsError(f"stream options must be an object, got {type(mapping).__name__}")
    unknown = sorted(set(mapping) - set(_STREAM_OPTION_CLASSES))
    if unknown:
        raise JobOptionsError(f"the stream has no options {', '.join(unknown)}; it takes stream and score")
    return {name: _options_of(name, _STREAM_OPTION_CLASSES[name], raw) for name, raw in mapping.items()}
