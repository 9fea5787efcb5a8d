// Packaging check: the built package loads every documented way (require, default import,
// named import, ./testing), through its own "exports" map (self-reference by name).
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const cjs = require('fastify-sse-hub')
const esm = await import('fastify-sse-hub')
const cjsTesting = require('fastify-sse-hub/testing')
const esmTesting = await import('fastify-sse-hub/testing')

assert.equal(typeof cjs, 'function', 'require() gives the plugin function')
assert.equal(cjs.default, cjs, 'require().default is the plugin')
assert.equal(typeof esm.default, 'function', 'default import is the plugin function')
for (const name of ['fastifySseHub', 'MemoryReplayStore', 'SseHub', 'errorCodes', 'encodeMessage']) {
  assert.ok(esm[name], `named import ${name}`)
  assert.ok(cjs[name], `require().${name}`)
}
assert.equal(typeof cjsTesting.injectEventStream, 'function', 'require ./testing')
assert.equal(typeof esmTesting.injectEventStream, 'function', 'import ./testing')
console.log('package exports ok: require, default import, named import, ./testing')
