// Builds dist/esm (import) and dist/cjs (require) from lib/ with tsc.
// The CommonJS entry is made to export the plugin itself, the way Fastify plugins do:
// `require('fastify-sse-hub')` is the plugin, with the named exports and `.default` on it.
import { execFileSync } from 'node:child_process'
import { appendFileSync, rmSync, writeFileSync } from 'node:fs'

const tsc = (project) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], { stdio: 'inherit' })

rmSync('dist', { recursive: true, force: true })
tsc('tsconfig.build.json')
tsc('tsconfig.cjs.json')
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n')
appendFileSync('dist/cjs/index.js', '\nmodule.exports = Object.assign(exports.default, exports)\n')
