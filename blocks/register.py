"""Register cardlake's block types and, for a laptop, the local default block documents (contracts section 5).

Idempotent: an existing document is kept unless `overwrite=True`, and the `pan-token-key` Secret is never
replaced (a new key would change every card token in the lake).
"""

from __future__ import annotations

import logging
from pathlib import Path

from prefect.blocks.core import Block
from prefect.blocks.system import Secret
from prefect.filesystems import LocalFileSystem

from blocks.credentials import CardApiCredentials
from blocks.emr import EmrServerlessApplication
from blocks.pipeline import PipelineSettings
from blocks.warehouse import WarehouseConnection
from cardlake.settings import LOCAL_DEMO_PAN_KEY, Settings, get_settings

log = logging.getLogger(__name__)

BLOCK_TYPES: tuple[type[Block], ...] = (
    CardApiCredentials,
    EmrServerlessApplication,
    WarehouseConnection,
    PipelineSettings,
)

# Document names of contracts section 5.
CREDENTIALS = "cardapi-credentials"
EMR = "cardlake-emr"
WAREHOUSE = "cardlake-warehouse"
SETTINGS = "cardlake-settings"
LANDING = "cardlake-landing"
RESULTS = "cardlake-results"
PAN_TOKEN_KEY = "pan-token-key"


def block_exists(block_class: type[Block], name: str) -> bool:
    try:
        block_class.load(name, validate=False, _sync=True)
    except ValueError:  # Prefect's "Unable to find block document named ..."
        return False
    return True


def results_root(settings: Settings) -> Path:
    return (settings.home / "prefect-results").resolve()


def local_default_blocks(settings: Settings) -> dict[str, Block]:
    """The documents `make run` needs, filled from settings (whose defaults are the simulator's demo account)."""
    return {
        SETTINGS: PipelineSettings.from_settings(settings),
        WAREHOUSE: WarehouseConnection(kind="duckdb", duckdb_path=str(settings.duckdb_file)),
        LANDING: LocalFileSystem(basepath=settings.landing_root),
        RESULTS: LocalFileSystem(basepath=str(results_root(settings))),
        CREDENTIALS: CardApiCredentials(
            base_url=settings.api_base_url,
            email=settings.api_email,
            password=settings.api_password,
            totp_secret=settings.api_totp_secret,
            client_id=settings.api_client_id,
            refresh_token=settings.api_refresh_token,
        ),
    }


def register_blocks(
    local_defaults: bool = True, overwrite: bool = False, settings: Settings | None = None
) -> dict[str, str]:
    """Register the block types; with `local_defaults` also save the local documents. Returns name -> action."""
    for block_type in BLOCK_TYPES:
        block_type.register_type_and_schema(_sync=True)
    actions: dict[str, str] = {block_type.get_block_type_slug(): "type registered" for block_type in BLOCK_TYPES}
    if not local_defaults:
        return actions
    settings = settings or get_settings()
    for name, block in local_default_blocks(settings).items():
        exists = block_exists(type(block), name)
        if exists and not overwrite:
            actions[name] = "kept"
            continue
        block.save(name, overwrite=overwrite, _sync=True)
        actions[name] = "replaced" if exists else "created"
    if block_exists(Secret, PAN_TOKEN_KEY):
        actions[PAN_TOKEN_KEY] = "kept"
    else:
        # Flagged by value: resolve_pan_key reports is_local_default=True while this key is in use.
        Secret(value=LOCAL_DEMO_PAN_KEY).save(PAN_TOKEN_KEY, _sync=True)
        actions[PAN_TOKEN_KEY] = "created (local demo key: replace it before real data)"
    for name, action in actions.items():
        log.info("block %s: %s", name, action)
    return actions
