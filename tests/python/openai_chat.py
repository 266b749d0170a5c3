"""OpenAI's official Python SDK against the Gatehouse gateway.

Run with the LiteLLM venv's Python (LiteLLM depends on `openai`). Reads
GATEHOUSE_BASE_URL (the gateway's, ending in /v1), GATEHOUSE_API_KEY (a
gateway key), CHAT_MODEL and CHAT_MODE, and prints one JSON line with what
the SDK saw, or the error it raised.

CHAT_MODE:
  plain        one non-streaming completion
  stream       one stream, as most apps ask for it (no usage asked)
  stream_usage one stream asking for its usage (stream_options.include_usage)
  models       the model list (GET /v1/models)
"""

import json
import os
import sys

import openai

client = openai.OpenAI(
    base_url=os.environ["GATEHOUSE_BASE_URL"],
    api_key=os.environ["GATEHOUSE_API_KEY"],
    max_retries=0,
    timeout=120,
)
model = os.environ["CHAT_MODEL"]
mode = os.environ["CHAT_MODE"]
messages = [{"role": "user", "content": "Say hello."}]

try:
    if mode == "models":
        out = {"models": [model.id for model in client.models.list()]}
    elif mode == "plain":
        completion = client.chat.completions.create(model=model, messages=messages, max_tokens=64)
        out = {
            "content": completion.choices[0].message.content,
            "finish_reason": completion.choices[0].finish_reason,
            "usage": completion.usage.model_dump() if completion.usage else None,
        }
    else:
        extra = {"stream_options": {"include_usage": True}} if mode == "stream_usage" else {}
        stream = client.chat.completions.create(model=model, messages=messages, max_tokens=64, stream=True, **extra)
        content, chunks, empty_choices, usage, finish = "", 0, 0, None, None
        for chunk in stream:
            chunks += 1
            if not chunk.choices:
                empty_choices += 1
            for choice in chunk.choices:
                content += choice.delta.content or ""
                finish = choice.finish_reason or finish
            if chunk.usage is not None:
                usage = chunk.usage.model_dump()
        out = {"content": content, "chunks": chunks, "empty_choices": empty_choices, "usage": usage,
               "finish_reason": finish}
except openai.APIStatusError as error:
    out = {"error": type(error).__name__, "status": error.status_code, "body": error.body}
print(json.dumps(out))
sys.stdout.flush()
