"""Register cardlake's block types and, for a laptop, the local default block documents (`contracts.names`).

Idempotent: an existing document is kept unless `overwrite=True`, and the `pan-token-key` Secret is never
replaced (a new key would change every card token in the lake).
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from prefect import get_client
from prefect.blocks.core import Block
from prefect.blocks.system import Secret
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.filesystems import LocalFileSystem

from blocks.credentials import CardApiCredentials
from blocks.emr import EmrServerlessApplication
from blocks.notifications import LogFileNotification
from blocks.warehouse import WarehouseConnection
from cardlake.config import api_credentials, warehouse_connection
from cardlake.lake_writer import read_limit
from cardlake.notifications import ensure_failure_automations
from cardlake.settings import Settings
from contracts import names

log = logging.getLogger(__name__)

BLOCK_TYPES: tuple[type[Block], ...] = (
    CardApiCredentials,
    EmrServerlessApplication,
    WarehouseConnection,
    LogFileNotification,
)


def block_exists(block_class: type[Block], name: str) -> bool:
    try:
        block_class.load(name, validate=False, _sync=True)  # type: ignore[call-arg]
    except ValueError:  # Prefect's "Unable to find block document named ..."
        return False
    return True


def results_root(settings: Settings) -> Path:
    return (settings.home / "prefect-results").resolve()


def notifications_log(settings: Settings) -> Path:
    return (settings.home / "logs" / "notifications.log").resolve()


def local_default_blocks(settings: Settings) -> dict[str, Block]:
    """The documents `make run` needs, filled from settings (whose defaults are the simulator's demo account)."""
    return {
        names.WAREHOUSE_BLOCK: warehouse_connection(settings.model_copy(update={"warehouse": "duckdb"})),
        names.LANDING_BLOCK: LocalFileSystem(basepath=settings.landing_root),
        names.RESULTS_BLOCK: LocalFileSystem(basepath=str(results_root(settings))),
        names.CARD_API_CREDENTIALS_BLOCK: api_credentials(settings.model_copy(update={"source": "simulator"})),
        names.NOTIFICATION_BLOCK: LogFileNotification(path=str(notifications_log(settings))),
    }


def ensure_lake_writer_limit(overwrite: bool = False) -> str:
    """The global concurrency limit every lake writer holds (`cardlake.lake_writer`), with one slot.

    An existing limit is kept as it is (an operator may have deactivated it on purpose) unless `overwrite`,
    which sets it back to one active slot.
    """
    existing = read_limit(names.LAKE_WRITER_LIMIT)
    with get_client(sync_client=True) as client:
        if existing is None:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=names.LAKE_WRITER_LIMIT, limit=1))
            return "created (limit 1)"
        if overwrite and (existing.limit != 1 or not existing.active):
            client.update_global_concurrency_limit(
                names.LAKE_WRITER_LIMIT, GlobalConcurrencyLimitUpdate(limit=1, active=True)
            )
            return "replaced (limit 1)"
    state = "" if existing.active else ", inactive"
    return f"kept (limit {existing.limit}{state})"


def register_blocks(settings: Settings, local_defaults: bool = True, overwrite: bool = False) -> dict[str, str]:
    """Register the block types and the lake-writer concurrency limit; with `local_defaults` also save the local
    documents. Returns name -> action."""
    for block_type in BLOCK_TYPES:
        block_type.register_type_and_schema(_sync=True)  # type: ignore[call-arg]
    actions: dict[str, str] = {block_type.get_block_type_slug(): "type registered" for block_type in BLOCK_TYPES}
    actions[names.LAKE_WRITER_LIMIT] = ensure_lake_writer_limit(overwrite)
    if not local_defaults:
        actions.update(failure_automations(settings, overwrite))
        return actions
    for name, block in local_default_blocks(settings).items():
        exists = block_exists(type(block), name)
        if exists and not overwrite:
            actions[name] = "kept"
            continue
        block.save(name, overwrite=overwrite, _sync=True)  # type: ignore[call-arg]
        actions[name] = "replaced" if exists else "created"
    if block_exists(Secret, names.PAN_TOKEN_KEY_BLOCK):
        actions[names.PAN_TOKEN_KEY_BLOCK] = "kept"
    else:
        # A key of this workspace's own, never the published demo key: tokens made with a public key and kept
        # beside the last four digits could be brute-forced back to card numbers.
        Secret(value=secrets.token_urlsafe(32)).save(names.PAN_TOKEN_KEY_BLOCK, _sync=True)  # type: ignore[call-arg]
        actions[names.PAN_TOKEN_KEY_BLOCK] = "created (a new random key: keep it, a new key re-tokens every card)"
    actions.update(failure_automations(settings, overwrite))
    for name, action in actions.items():
        log.info("block %s: %s", name, action)
    return actions


def failure_automations(settings: Settings, overwrite: bool) -> dict[str, str]:
    """The failure automations, once their notification block exists (a production workspace creates it)."""
    try:
        return ensure_failure_automations(settings.notification_block, overwrite)
    except LookupError as exc:
        return {names.FAILED_RUN_AUTOMATION: f"not created: {exc}"}
