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

// ioredis is an optional peer: the package must load, both ways, where it cannot be resolved.
const { execFileSync } = await import('node:child_process')
const hideEsm = 'export async function resolve (s, c, next) { if (s === "ioredis" || s.startsWith("ioredis/")) { throw Object.assign(new Error("ioredis is hidden"), { code: "ERR_MODULE_NOT_FOUND" }) } return next(s, c) }'
const registerHook = `import { register } from 'node:module'; register(${JSON.stringify('data:text/javascript,' + encodeURIComponent(hideEsm))})`
const hideCjs = 'const M = require("module"); const r = M._resolveFilename; M._resolveFilename = function (s, ...a) { if (s === "ioredis" || s.startsWith("ioredis/")) throw Object.assign(new Error("ioredis is hidden"), { code: "MODULE_NOT_FOUND" }); return r.call(this, s, ...a) }'
const probe = 'if (typeof m.default !== "function" || typeof m.MemoryReplayStore !== "function" || typeof m.RedisReplayStore !== "function") process.exit(1)'
execFileSync(process.execPath, ['--import', 'data:text/javascript,' + encodeURIComponent(registerHook), '--input-type=module', '-e',
  `const m = await import('fastify-sse-hub'); ${probe}; let hidden = false; try { await import('ioredis') } catch { hidden = true } if (!hidden) process.exit(2)`], { stdio: 'inherit' })
execFileSync(process.execPath, ['-e', `${hideCjs}; const m = require('fastify-sse-hub'); ${probe}; let hidden = false; try { require('ioredis') } catch { hidden = true } if (!hidden) process.exit(2)`], { stdio: 'inherit' })
console.log('package loads without ioredis: import and require')
