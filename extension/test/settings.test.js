// The options page's server address rule (settings.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { normaliseServerUrl, originPattern } from "../settings.js";

test("the server address keeps its path and loses the trailing slash", () => {
  assert.equal(normaliseServerUrl(" https://syncd.example.com/base/ "), "https://syncd.example.com/base");
});

test("plain http is only for the loopback address", () => {
  assert.equal(normaliseServerUrl("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  assert.throws(() => normaliseServerUrl("http://syncd.example.com"), /must use https/);
});

test("an address with a user, query or fragment is refused", () => {
  assert.throws(() => normaliseServerUrl("https://me:pw@syncd.example.com"), /no user/);
  assert.throws(() => normaliseServerUrl("https://syncd.example.com/?a=1"), /no user/);
  assert.throws(() => normaliseServerUrl("syncd.example.com"), /not a URL/);
});

test("the host permission asked for is the server's origin only", () => {
  assert.equal(originPattern("https://syncd.example.com/base"), "https://syncd.example.com/*");
});
