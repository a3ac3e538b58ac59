"""Where the PAN token key comes from: settings, then the Prefect Secret block, then the flagged local key."""

from __future__ import annotations

import logging

from cardlake.settings import LOCAL_DEMO_PAN_KEY, Settings

log = logging.getLogger(__name__)


def load_secret_block(name: str) -> str | None:
    """The value of the Prefect `Secret` block `name`, or None when no such block exists."""
    from prefect.blocks.system import Secret

    try:
        block = Secret.load(name, _sync=True)
    except ValueError:  # Prefect raises ValueError when the document does not exist
        return None
    return str(block.get())


def resolve_pan_key(settings: Settings) -> tuple[str, bool]:
    """(key, is_local_default). The flag is True when the published local demo key is in use."""
    if settings.pan_token_key is not None and settings.pan_token_key.get_secret_value():
        key = settings.pan_token_key.get_secret_value()
        return key, key == LOCAL_DEMO_PAN_KEY
    key = load_secret_block(settings.pan_token_secret_block)
    if key:
        return key, key == LOCAL_DEMO_PAN_KEY
    log.warning(
        "No PAN token key configured (setting CARDLAKE_PAN_TOKEN_KEY or Secret block %r): using the local "
        "demo key, which is public and only fit for the simulator.",
        settings.pan_token_secret_block,
    )
    return LOCAL_DEMO_PAN_KEY, True
