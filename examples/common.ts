// Shared by the examples: how each one builds a standalone app, and how pages are loaded.
// Nothing here is specific to SSE; read an example file first.
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import type { FastifyInstance, FastifyPluginAsync, FastifyPluginOptions, FastifyServerOptions } from 'fastify'
import fastifySseHub from '../lib/index.js'
import type { FastifySseHubOptions } from '../lib/index.js'

/** Options every example's `build()` takes, besides its own. */
export interface AppOptions {
  /** Fastify's logger option (default: off). */
  logger?: FastifyServerOptions['logger']
  /** Plugin options, over the examples' `retry: 1000` (a dropped page is back within a second). */
  sse?: FastifySseHubOptions
}

/** Options every example plugin takes. */
export interface PageOptions {
  /** A link back to the demo's index, shown in the page header. */
  home?: string
}

/** The plugin options the examples use: a 1 s reconnection delay instead of the browser's default. */
export const SSE_OPTIONS: FastifySseHubOptions = { retry: 1_000 }

/** A Fastify app with the plugin registered and one example mounted at the root, ready to listen. */
export async function buildApp<O extends FastifyPluginOptions> (example: FastifyPluginAsync<O>, options: O & AppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false })
  await app.register(fastifySseHub, { ...SSE_OPTIONS, ...options.sse })
  await app.register(example, options)
  await app.ready()
  return app
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes text for an HTML text node or a quoted attribute. */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] as string)
}

const LAYOUT = readFileSync(new URL('./pages/layout.html', import.meta.url), 'utf8')

/**
 * Renders `examples/pages/<name>.html` inside the shared layout (styles, status bar, the
 * small `openStream()` helper). `{{key}}` placeholders take HTML-escaped values; `base` is
 * where the example is mounted, so the page's relative URLs (`events`, `messages`) work
 * under any prefix.
 */
export function renderPage (name: string, vars: Record<string, string>): string {
  const body = readFileSync(new URL(`./pages/${name}.html`, import.meta.url), 'utf8')
  const fill = (template: string): string =>
    template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
      const value = vars[key]
      if (value === undefined) throw new Error(`page ${name}: no value for {{${key}}}`)
      return escapeHtml(value)
    })
  const home = vars.home === undefined ? '' : `<a class="home" href="${escapeHtml(vars.home)}">&larr; all examples</a>`
  return fill(LAYOUT).replace('<!--home-->', home).replace('<!--body-->', () => fill(body))
}

/** The page route of an example: `GET /` under its prefix. */
export function servePage (app: FastifyInstance, name: string, title: string, options: PageOptions, vars: Record<string, string> = {}): void {
  const base = `${app.prefix}/`
  const html = renderPage(name, { title, base, ...(options.home === undefined ? {} : { home: options.home }), ...vars })
  app.get('/', (request, reply) => { reply.type('text/html; charset=utf-8').send(html) })
}
