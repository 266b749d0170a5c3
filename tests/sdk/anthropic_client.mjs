// A second real client for Gatehouse's end-to-end tests: the official
// `@anthropic-ai/sdk` npm package sends one Messages request through the
// gateway and prints, as one JSON line on stdout, what the SDK made of the
// answer. `tests/tests/sdk_client.rs` runs it.
//
// Usage: node anthropic_client.mjs <base-url> <stream|nonstream> <api-key|x-api-key|none>
//
// Secrets never go in argv, only in the environment:
//   GATEHOUSE_SDK_DIR   absolute path of node_modules/@anthropic-ai/sdk (required)
//   GATEHOUSE_KEY       the gateway key, sent as `x-gatehouse-key` through the
//                       SDK's `defaultHeaders` (optional: the SDK itself also
//                       reads ANTHROPIC_CUSTOM_HEADERS, as Claude Code does)
//   CLIENT_API_KEY      the client's own Anthropic key, for the credential
//                       modes `api-key` and `x-api-key`
//
// Credential modes:
//   api-key    the SDK's `apiKey` option. SDK 1.12.0 sends it as
//              `Authorization: Bearer <key>`, not as `x-api-key`.
//   x-api-key  no SDK credential; the key rides in `defaultHeaders` as
//              `x-api-key`, which the SDK accepts as explicit auth.
//   none       no credential at all: the gateway must supply its own. The SDK
//              refuses to send ("Could not resolve authentication method")
//              unless the `Authorization` header is explicitly omitted with
//              `defaultHeaders: { Authorization: null }`.
//
// Output: {"ok":true,"text","usage","id","model","stop_reason","status",
// "headers":{...},"events":[...]} on success, or {"ok":false,"error":{...}}
// when the SDK threw an API error. Anything else (a bad argument, the SDK
// missing) is a crash: a message on stderr and exit code 2.

import { pathToFileURL } from 'node:url';
import path from 'node:path';

function die(message) {
  process.stderr.write(`anthropic_client.mjs: ${message}\n`);
  process.exit(2);
}

const [baseURL, mode, credential] = process.argv.slice(2);
if (!baseURL || !['stream', 'nonstream'].includes(mode) || !['api-key', 'x-api-key', 'none'].includes(credential)) {
  die('usage: anthropic_client.mjs <base-url> <stream|nonstream> <api-key|x-api-key|none>');
}
const sdkDir = process.env.GATEHOUSE_SDK_DIR;
if (!sdkDir) die('GATEHOUSE_SDK_DIR is not set');

let sdk;
try {
  sdk = await import(pathToFileURL(path.join(sdkDir, 'index.mjs')).href);
} catch (error) {
  die(`cannot import @anthropic-ai/sdk from ${sdkDir} (run scripts/install-test-deps): ${error.message}`);
}
const { Anthropic, APIError } = sdk;

const defaultHeaders = {};
if (process.env.GATEHOUSE_KEY) defaultHeaders['x-gatehouse-key'] = process.env.GATEHOUSE_KEY;
const options = { baseURL, maxRetries: 0, timeout: 30_000, apiKey: null, authToken: null, defaultHeaders };
const clientKey = process.env.CLIENT_API_KEY;
switch (credential) {
  case 'api-key':
    if (!clientKey) die('CLIENT_API_KEY is required for credential mode api-key');
    options.apiKey = clientKey;
    break;
  case 'x-api-key':
    if (!clientKey) die('CLIENT_API_KEY is required for credential mode x-api-key');
    defaultHeaders['x-api-key'] = clientKey;
    break;
  case 'none':
    defaultHeaders['Authorization'] = null;
    break;
}

const client = new Anthropic(options);
const params = {
  model: 'claude-sonnet-4-5',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Say hello through Gatehouse.' }],
};

// Headers the tests look at, as the SDK's raw Response carried them.
function pickHeaders(response) {
  const names = ['x-gatehouse-upstream', 'x-gatehouse-error', 'request-id', 'content-type'];
  return Object.fromEntries(names.map((name) => [name, response.headers.get(name)]));
}

function textOf(message) {
  return message.content
    .filter((block) => block.type === 'text')
    .map((block) => block.text)
    .join('');
}

let result;
try {
  if (mode === 'nonstream') {
    const { data, response } = await client.messages.create(params).withResponse();
    result = {
      ok: true,
      text: textOf(data),
      usage: data.usage,
      id: data.id,
      model: data.model,
      stop_reason: data.stop_reason,
      status: response.status,
      headers: pickHeaders(response),
      events: [],
    };
  } else {
    const stream = client.messages.stream(params);
    const events = [];
    let streamedText = '';
    stream.on('streamEvent', (event) => events.push(event.type));
    stream.on('text', (delta) => {
      streamedText += delta;
    });
    const { response } = await stream.withResponse();
    const message = await stream.finalMessage();
    result = {
      ok: true,
      text: textOf(message),
      streamed_text: streamedText,
      usage: message.usage,
      id: message.id,
      model: message.model,
      stop_reason: message.stop_reason,
      status: response.status,
      headers: pickHeaders(response),
      events,
    };
  }
} catch (error) {
  if (!(error instanceof APIError)) {
    result = { ok: false, error: { class: error?.constructor?.name ?? typeof error, message: String(error?.message ?? error) } };
  } else {
    result = {
      ok: false,
      error: {
        class: error.constructor.name,
        status: error.status ?? null,
        type: error.type ?? null,
        message: error.message,
        api_message: error.apiMessage ?? null,
        headers: error.headers ? Object.fromEntries(error.headers.entries()) : {},
      },
    };
  }
}
process.stdout.write(`${JSON.stringify(result)}\n`);
