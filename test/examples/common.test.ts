import t from 'tap'
import { escapeHtml, renderPage } from '../../examples/common.js'

t.test('escapes text for HTML text and attributes', async (t) => {
  t.equal(escapeHtml('<a href="x" title=\'y\'>&</a>'), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;')
})

t.test('renders a page into the layout, escaping every value', async (t) => {
  const html = renderPage('clock', { title: 'A <b>', base: '/x/' })
  t.match(html, '<title>A &lt;b&gt; · fastify-sse-hub</title>')
  t.match(html, '<base href="/x/">')
  t.notMatch(html, /\{\{|<!--home-->|<!--body-->/, 'no placeholder left')
  t.notMatch(html, 'class="home"', 'no link home unless asked')
})

t.test('refuses to render a page with a placeholder left unfilled', async (t) => {
  t.throws(() => renderPage('clock', { title: 'Clock' }), { message: 'page clock: no value for {{base}}' })
})
