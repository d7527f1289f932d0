'use strict';
// Drives the official `cronofy` npm SDK (pinned in package-lock.json) against a live
// syncd. Reads one JSON document on stdin:
//
//   {"base_url": "http://127.0.0.1:PORT",
//    "calls": [{"name": "events", "method": "readEvents",
//               "config": {"access_token": "..."},      // new Cronofy(config)
//               "options": {"tzid": "Etc/UTC"},         // the method's argument
//               "pages": true}]}                         // follow pages.next_page
//
// and prints one JSON document on stdout: {"<name>": result, ...} where result is
// {"ok": true, "value": <what the SDK resolved>} (with "pages": true, "value" is the
// list of every page's response), or {"ok": false, "status": <HTTP status>,
// "body": <error entity>} when the SDK rejected, or {"ok": false, "error": "<text>"}
// for a failure without an HTTP answer. Calls run one after another, in order.

const axios = require('axios');
const Cronofy = require('cronofy');

// Only 127.0.0.1 is ever called: never through a proxy from the environment.
axios.defaults.proxy = false;

function readStdin () {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => { text += chunk; });
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}

function client (baseUrl, config) {
  const sdk = new Cronofy(config || {});
  sdk.urls.api = baseUrl; // the SDK has no base-URL option; data_center only picks Cronofy's
  return sdk;
}

async function call (baseUrl, spec) {
  const sdk = client(baseUrl, spec.config);
  const method = sdk[spec.method];
  if (typeof method !== 'function') {
    return { ok: false, error: `the SDK has no method ${spec.method}` };
  }
  try {
    const options = spec.options || {};
    let value = method.call(sdk, options);
    if (value && typeof value.then === 'function') value = await value;
    if (!spec.pages) return { ok: true, value: value === undefined ? null : value };
    const pages = [value];
    while (pages[pages.length - 1].pages && pages[pages.length - 1].pages.next_page) {
      const nextPage = pages[pages.length - 1].pages.next_page;
      pages.push(await method.call(sdk, { next_page: nextPage }));
    }
    return { ok: true, value: pages };
  } catch (error) {
    if (error.statusCode) {
      return { ok: false, status: error.statusCode, body: error.error ? error.error.entity : null };
    }
    return { ok: false, error: String(error && error.message ? error.message : error) };
  }
}

async function main () {
  const script = JSON.parse(await readStdin());
  const results = {};
  for (const spec of script.calls) {
    results[spec.name] = await call(script.base_url, spec);
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
