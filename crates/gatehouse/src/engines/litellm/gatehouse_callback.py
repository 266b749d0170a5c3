"""Gatehouse's LiteLLM callback: LiteLLM's own cost of each request, into Gatehouse's ledger.

Shipped inside Gatehouse and written beside LiteLLM's generated config at
each start; registered as `litellm_settings: callbacks:
[gatehouse_callback.handler]`. For every request LiteLLM served (streaming
or not) it writes one row to the ledger's `engine_costs` table: LiteLLM's
call id (the `x-litellm-call-id` the gateway keeps as the request's id), the
model, LiteLLM's `response_cost` and the usage it priced. The gateway's own
row, priced by Gatehouse's table, is the one that counts; this one is kept
beside it so that a disagreement shows.

Only these whitelisted fields are read. The callback's arguments also hold
request headers, and at times LiteLLM's master key: nothing else of them is
touched, printed or stored.
"""

import asyncio
import os
import sqlite3
import sys
import time

from litellm.integrations.custom_logger import CustomLogger

_LEDGER = os.environ.get("GATEHOUSE_LEDGER", "")


def _int(value):
    return value if isinstance(value, int) and value >= 0 else None


class GatehouseLedger(CustomLogger):
    """Writes LiteLLM's cost of each successful request to the ledger."""

    def _record(self, kwargs):
        payload = kwargs.get("standard_logging_object") or {}
        call_id = payload.get("litellm_call_id") or kwargs.get("litellm_call_id")
        if not _LEDGER or not isinstance(call_id, str):
            return
        usage = (payload.get("metadata") or {}).get("usage_object") or {}
        cost = payload.get("response_cost")
        cache_write = _int(usage.get("cache_creation_input_tokens"))
        cache_read = _int(usage.get("cache_read_input_tokens"))
        # OpenAI's prompt_tokens counts the cache writes and reads too.
        prompt = _int(usage.get("prompt_tokens"))
        fresh = _int(usage.get("input_tokens"))
        if fresh is None and prompt is not None:
            fresh = max(prompt - (cache_write or 0) - (cache_read or 0), 0)
        row = (
            call_id,
            int(time.time() * 1000),
            payload.get("model") if isinstance(payload.get("model"), str) else None,
            float(cost) if isinstance(cost, (int, float)) else None,
            fresh,
            _int(usage.get("output_tokens", usage.get("completion_tokens"))),
            cache_write,
            cache_read,
        )
        try:
            with sqlite3.connect(_LEDGER, timeout=10) as ledger:
                ledger.execute("INSERT OR REPLACE INTO engine_costs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
        except sqlite3.Error as error:
            # The error's text names the table or the file, never a secret.
            print(f"gatehouse callback: LiteLLM's cost of {call_id} was not recorded: {error}", file=sys.stderr)

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self._record(kwargs)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        # A write may wait for the gateway's own: not on LiteLLM's event loop.
        await asyncio.to_thread(self._record, kwargs)


handler = GatehouseLedger()
