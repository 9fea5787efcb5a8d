import t from 'tap'
import type { Test } from 'tap'
import { createParser } from 'eventsource-parser'
import { HEARTBEAT, checkEvent, checkId, encodeComment, encodeData, encodeMessage, serializeData } from '../lib/encoder.js'
import type { Serializer } from '../lib/encoder.js'

const json: Serializer = JSON.stringify

function encode (message: unknown, serialize: Serializer = json): string {
  return encodeMessage(message, serialize)
}

t.test('a string message is one data line and a blank line', async (t) => {
  t.equal(encode('hello'), 'data: hello\n\n')
  t.equal(encode(''), 'data: \n\n')
  t.equal(encode(' lead: colon'), 'data:  lead: colon\n\n')
})

t.test('data is split on CRLF, lone CR and lone LF, each a line of its own', async (t) => {
  t.equal(encode('a\rb'), 'data: a\ndata: b\n\n')
  t.equal(encode('a\nb'), 'data: a\ndata: b\n\n')
  t.equal(encode('a\r\nb'), 'data: a\ndata: b\n\n')
  t.equal(encode('a\n\rb'), 'data: a\ndata: \ndata: b\n\n', 'LF then CR is two breaks')
  t.equal(encode('a\r\rb'), 'data: a\ndata: \ndata: b\n\n')
  t.equal(encode('a\r\n\r\nb'), 'data: a\ndata: \ndata: b\n\n')
  t.equal(encode('a\n'), 'data: a\ndata: \n\n', 'a trailing break keeps its empty line')
  t.equal(encode('\rb'), 'data: \ndata: b\n\n', 'a leading break keeps its empty line')
  t.equal(encode('\r\n'), 'data: \ndata: \n\n')
  t.equal(encode({ data: 'x\r\ny\rz\nw' }), 'data: x\ndata: y\ndata: z\ndata: w\n\n')
})

t.test('writes fields as "name: value" in the order comment, event, id, retry, data', async (t) => {
  t.equal(
    encode({ data: 'd', retry: 5, id: 'i', event: 'e', comment: 'c' }),
    ': c\nevent: e\nid: i\nretry: 5\ndata: d\n\n'
  )
})

t.test('keeps falsy fields', async (t) => {
  t.equal(encode({ id: '' }), 'id: \n\n', "id: '' resets the client's last id")
  t.equal(encode({ id: 0 }), 'id: 0\n\n')
  t.equal(encode({ retry: 0 }), 'retry: 0\n\n')
  t.equal(encode({ data: '' }), 'data: \n\n')
  t.equal(encode({ data: 0 }), 'data: 0\n\n')
  t.equal(encode({ data: false }), 'data: false\n\n')
  t.equal(encode({ data: null }), 'data: null\n\n')
  t.equal(encode({ event: '' }), 'event: \ndata: \n\n')
  t.equal(encode({ comment: '' }), ': \n\n')
})

t.test('numeric ids are written as their decimal text', async (t) => {
  t.equal(encode({ id: 42 }), 'id: 42\n\n')
  t.equal(encode({ id: -1 }), 'id: -1\n\n')
  t.equal(encode({ id: 1.5 }), 'id: 1.5\n\n')
  t.equal(encode({ id: -0 }), 'id: 0\n\n')
  t.equal(encode({ id: 1e21 }), 'id: 1e+21\n\n')
  t.equal(checkId(7), '7')
  t.equal(checkId('a\u0001b'), 'a\u0001b')
})

t.test('a named event without data gets an empty data line so that it fires', async (t) => {
  t.equal(encode({ event: 'ping' }), 'event: ping\ndata: \n\n')
  t.equal(encode({ event: 'ping', data: undefined }), 'event: ping\ndata: \n\n')
  t.equal(encode({ event: 'ping', id: 3 }), 'event: ping\nid: 3\ndata: \n\n')
})

t.test('a message with no field encodes to nothing', async (t) => {
  t.equal(encode({}), '')
  t.equal(encode({ id: undefined, data: undefined, unknown: 'x' }), '')
})

t.test('fields without data do not add a data line', async (t) => {
  t.equal(encode({ id: 'x', retry: 10, comment: 'c' }), ': c\nid: x\nretry: 10\n\n')
})

t.test('comments become one ": " line per line of text', async (t) => {
  t.equal(encode({ comment: 'one' }), ': one\n\n')
  t.equal(encode({ comment: 'a\r\nb\rc\nd' }), ': a\n: b\n: c\n: d\n\n')
  t.equal(encode({ comment: 'x\n' }), ': x\n: \n\n')
  t.equal(encode({ comment: ':data: forged' }), ': :data: forged\n\n')
})

function throwsCode (t: Test, fn: () => unknown, code: string, message: string): void {
  t.throws(fn, { code, message, statusCode: 500 }, message)
}

t.test('refuses event with CR or LF, never writing it', async (t) => {
  for (const event of ['a\nb', 'a\rb', 'a\r\nb', '\n', 'x\r']) {
    throwsCode(t, () => encode({ event, data: 'x' }), 'FST_SSE_INVALID_FIELD',
      `fastify-sse-hub: message field event is invalid (got ${JSON.stringify(event)}). Pass a string without CR or LF.`)
  }
  throwsCode(t, () => encode({ event: 5 }), 'FST_SSE_INVALID_FIELD',
    'fastify-sse-hub: message field event is invalid (got 5). Pass a string without CR or LF.')
  throwsCode(t, () => checkEvent(undefined), 'FST_SSE_INVALID_FIELD',
    'fastify-sse-hub: message field event is invalid (got undefined). Pass a string without CR or LF.')
  t.equal(encode({ event: 'a\u0000b' }), 'event: a\u0000b\ndata: \n\n', 'NUL is allowed in an event name')
})

t.test('refuses id with CR, LF or NUL, and ids that are not strings or finite numbers', async (t) => {
  const fix = 'Pass a string without CR, LF or NUL, or a finite number.'
  for (const id of ['a\nb', 'a\rb', 'a\r\nb', 'a\u0000b', '\u0000']) {
    throwsCode(t, () => encode({ id, data: 'x' }), 'FST_SSE_INVALID_FIELD',
      `fastify-sse-hub: message field id is invalid (got ${JSON.stringify(id)}). ${fix}`)
  }
  for (const [id, shown] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [true, 'true'], [null, 'null'], [{}, 'an object'], [[1], 'an array'], [10n, '10']] as const) {
    throwsCode(t, () => encode({ id }), 'FST_SSE_INVALID_FIELD',
      `fastify-sse-hub: message field id is invalid (got ${shown}). ${fix}`)
  }
})

t.test('refuses retry unless it is a non-negative whole number', async (t) => {
  const fix = 'Pass a non-negative whole number of milliseconds.'
  for (const [retry, shown] of [[-1, '-1'], [1.5, '1.5'], [NaN, 'NaN'], [Infinity, 'Infinity'], ['5', '"5"'], [2 ** 53, '9007199254740992'], [null, 'null']] as const) {
    throwsCode(t, () => encode({ retry, data: 'x' }), 'FST_SSE_INVALID_FIELD',
      `fastify-sse-hub: message field retry is invalid (got ${shown}). ${fix}`)
  }
  t.equal(encode({ retry: 3000 }), 'retry: 3000\n\n')
  t.equal(encode({ retry: -0 }), 'retry: 0\n\n')
})

t.test('refuses a comment that is not a string', async (t) => {
  throwsCode(t, () => encode({ comment: 5 }), 'FST_SSE_INVALID_FIELD',
    'fastify-sse-hub: message field comment is invalid (got 5). Pass a string.')
})

t.test('refuses messages that are neither a string nor a plain object', async (t) => {
  const fix = 'Pass a string or an object.'
  const cases: Array<[unknown, string]> = [[42, '42'], [null, 'null'], [undefined, 'undefined'], [true, 'true'], [['a'], 'an array'], [Symbol('s'), 'Symbol(s)'], [() => 'x', 'a function']]
  for (const [message, shown] of cases) {
    throwsCode(t, () => encode(message), 'FST_SSE_INVALID_MESSAGE',
      `fastify-sse-hub: a message must be a string or an object with id, event, data, retry or comment (got ${shown}). ${fix}`)
  }
})

t.test('non-string data goes through serialize, whose output is split into lines too', async (t) => {
  t.equal(encode({ data: { a: 1, s: 'x\ny' } }), 'data: {"a":1,"s":"x\\ny"}\n\n')
  t.equal(encode({ data: [1, 'two'] }), 'data: [1,"two"]\n\n')
  const seen: unknown[] = []
  const custom: Serializer = (data) => { seen.push(data); return `<${String(data)}>\r<end>` }
  t.equal(encode({ data: 7 }, custom), 'data: <7>\ndata: <end>\n\n')
  t.equal(encode({ data: 'as is' }, custom), 'data: as is\n\n', 'string data never reaches serialize')
  t.same(seen, [7])
  t.equal(serializeData('s', () => { throw new Error('not called') }), 's')
})

t.test('a serializer that throws fails with FST_SSE_SERIALIZE carrying the cause', async (t) => {
  const boom = new Error('boom')
  const err = t.throws(() => encode({ data: { a: 1 } }, () => { throw boom }), {
    code: 'FST_SSE_SERIALIZE',
    statusCode: 500,
    message: 'fastify-sse-hub: serialize failed for message data (got an object). Pass data that the serialize option turns into a string, or a string.'
  }) as Error
  t.equal(err.cause, boom)
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const err2 = t.throws(() => encode({ data: cyclic }), { code: 'FST_SSE_SERIALIZE' }) as Error
  t.type(err2.cause, TypeError, 'JSON.stringify on a cycle')
  const err3 = t.throws(() => encode({ data: 1n }), { code: 'FST_SSE_SERIALIZE', message: /\(got 1\)/ }) as Error
  t.type(err3.cause, TypeError, 'JSON.stringify on a BigInt')
})

t.test('a serializer that returns a non-string fails with FST_SSE_SERIALIZE', async (t) => {
  const tail = 'Pass data that the serialize option turns into a string, or a string.'
  const cases: Array<[unknown, Serializer, string]> = [
    [() => 1, json, 'a function, serialized to undefined'],
    [Symbol('s'), json, 'Symbol(s), serialized to undefined'],
    [{ toJSON: () => undefined }, json, 'an object, serialized to undefined'],
    [1, () => 1 as unknown as string, '1, serialized to 1'],
    [{}, () => null as unknown as string, 'an object, serialized to null'],
    [{}, () => ({}) as unknown as string, 'an object, serialized to an object']
  ]
  for (const [data, serialize, got] of cases) {
    const err = t.throws(() => encode({ event: 'e', data }, serialize), {
      code: 'FST_SSE_SERIALIZE',
      message: `fastify-sse-hub: serialize failed for message data (got ${got}). ${tail}`
    }) as Error
    t.equal(err.cause, undefined)
  }
})

t.test('encodeData, encodeComment and HEARTBEAT give exact lines', async (t) => {
  t.equal(encodeData('x'), 'data: x\n')
  t.equal(encodeData(''), 'data: \n')
  t.equal(encodeData('a\r\nb\rc'), 'data: a\ndata: b\ndata: c\n')
  t.equal(encodeComment('x'), ': x\n')
  t.equal(encodeComment('a\nb'), ': a\n: b\n')
  t.equal(HEARTBEAT, ':\n\n')
})

// ---------------------------------------------------------------------------------------
// Property test: random messages, checked against eventsource-parser and against a small
// parser written straight from the WHATWG "interpreting an event stream" steps.
//
// Lone surrogates: the encoder passes strings through untouched; the response is UTF-8,
// and UTF-8 cannot hold a lone surrogate, so each one reaches the client as U+FFFD. The
// test models the wire exactly that way (TextEncoder, then a streaming TextDecoder) and
// expects the same replacement in the fields. Non-string data goes through JSON.stringify,
// which escapes lone surrogates (\udXXX), so such data round-trips exactly.
// ---------------------------------------------------------------------------------------

function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const PIECES = [
  'a', 'Z', '0', ' ', '  ', ':', ': ', '\r', '\n', '\r\n', '\n\r', '\r\r', '\n\n', '\u0000', '\t',
  'é', '€', '😀', '𝄞', '\ud800', '\udfff', '\udbff\n\udc00', '\ufeff', '\u2028', '\u0085', '\u000b', '\u000c',
  'data:', 'data: x', 'event: forged', 'id: 99', 'retry: 1', 'id', ':comment', '\n\ndata: injected\n\n'
]

const BREAK = /\r\n|\r|\n/

class Fuzz {
  readonly random: () => number
  constructor (seed: number) { this.random = mulberry32(seed) }
  int (n: number): number { return Math.floor(this.random() * n) }
  pick<T> (items: readonly T[]): T { return items[this.int(items.length)] as T }
  chance (p: number): boolean { return this.random() < p }

  text (): string {
    let s = ''
    const n = this.int(9)
    for (let i = 0; i < n; i++) {
      s += this.chance(0.15) ? String.fromCodePoint(this.int(0x110000)) : this.pick(PIECES)
    }
    return s
  }

  id (): unknown {
    if (this.chance(0.75)) return this.text()
    return this.pick([0, -0, 7, -3, 1.25, 2 ** 60, NaN, Infinity, -Infinity])
  }

  retry (): unknown {
    return this.chance(0.8) ? this.pick([0, 1, 3000, this.int(1e9)]) : this.pick([-1, 0.5, NaN, Infinity])
  }

  data (): unknown {
    if (this.chance(0.75)) return this.text()
    return this.pick([() => ({ s: this.text(), n: this.int(100) }), () => [this.text()], () => this.int(10), () => null])()
  }

  message (): unknown {
    if (this.chance(0.1)) return this.text()
    const m: Record<string, unknown> = {}
    if (this.chance(0.4)) m.id = this.id()
    if (this.chance(0.5)) m.event = this.text()
    if (this.chance(0.7)) m.data = this.data()
    if (this.chance(0.25)) m.comment = this.text()
    if (this.chance(0.2)) m.retry = this.retry()
    return m
  }
}

/** What UTF-8 on the wire makes of a string: lone surrogates become U+FFFD (a BOM inside a field stays). */
function wire (text: string): string {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(new TextEncoder().encode(text))
}

interface Expected {
  invalid: string[]
  events: Array<{ id: string | undefined, event: string | undefined, data: string }>
  retries: number[]
  comments: string[]
  /** The id this frame sets (the spec's last event ID buffer), if any. */
  setsId: string | undefined
  json?: unknown
}

/** The oracle: what the spec says a client sees for a message (written from the rules, not from the encoder). */
function expect (input: unknown): Expected {
  const m = (typeof input === 'string' ? { data: input } : input) as Record<string, unknown>
  const invalid: string[] = []
  const hasBreak = (v: string): boolean => v.includes('\r') || v.includes('\n')
  if (m.event !== undefined && hasBreak(m.event as string)) invalid.push('event')
  if (m.id !== undefined) {
    const id = m.id
    if (typeof id === 'number' ? !Number.isFinite(id) : hasBreak(id as string) || (id as string).includes('\u0000')) invalid.push('id')
  }
  if (m.retry !== undefined && !(Number.isSafeInteger(m.retry) && (m.retry as number) >= 0)) invalid.push('retry')
  const setsId = m.id === undefined ? undefined : wire(String(m.id))
  const result: Expected = {
    invalid,
    events: [],
    retries: m.retry === undefined ? [] : [m.retry as number],
    comments: m.comment === undefined ? [] : (m.comment as string).split(BREAK).map(wire),
    setsId
  }
  if (m.data !== undefined || m.event !== undefined) {
    const text = m.data === undefined ? '' : typeof m.data === 'string' ? m.data : JSON.stringify(m.data)
    result.events.push({
      id: setsId,
      event: m.event === undefined || m.event === '' ? undefined : wire(m.event as string),
      data: wire(text.replace(/\r\n|\r/g, '\n'))
    })
    if (m.data !== undefined && typeof m.data !== 'string') result.json = m.data
  }
  return result
}

/** Encodes a string to UTF-8 and hands it to `feed` in random slices, decoding like a client. */
function overTheWire (text: string, fuzz: Fuzz, feed: (chunk: string) => void): void {
  const bytes = new TextEncoder().encode(text)
  const decoder = new TextDecoder()
  for (let at = 0; at < bytes.length;) {
    const end = Math.min(bytes.length, at + 1 + fuzz.int(64))
    feed(decoder.decode(bytes.subarray(at, end), { stream: true }))
    at = end
  }
  feed(decoder.decode())
}

interface ParserOutput {
  events: Array<{ id: string | undefined, event: string | undefined, data: string }>
  retries: number[]
  comments: string[]
  errors: string[]
}

function eventsourceParser (): { output: ParserOutput, feed: (chunk: string) => void } {
  const output: ParserOutput = { events: [], retries: [], comments: [], errors: [] }
  const parser = createParser({
    onEvent: ({ id, event, data }) => { output.events.push({ id, event, data }) },
    onRetry: (retry) => { output.retries.push(retry) },
    onComment: (comment) => { output.comments.push(comment) },
    onError: (err) => { output.errors.push(err.message) }
  })
  return { output, feed: (chunk) => parser.feed(chunk) }
}

interface SpecEvent { type: string, data: string, lastEventId: string }

/**
 * The WHATWG steps, literally: lines end at CRLF, CR or LF; a blank line dispatches (no
 * event when the data buffer is empty); the last event ID buffer persists across events.
 * Unknown field names are recorded: the encoder must never produce one.
 */
function specParse (stream: string): { events: SpecEvent[], lastEventId: string, unknownFields: string[], retries: number[] } {
  const lines = stream.split(BREAK)
  const incomplete = lines.pop()
  if (incomplete !== '') throw new Error(`stream ends inside a line: ${JSON.stringify(incomplete)}`)
  const events: SpecEvent[] = []
  const unknownFields: string[] = []
  const retries: number[] = []
  let data = ''
  let type = ''
  let lastEventId = ''
  for (const line of lines) {
    if (line === '') {
      if (data !== '') events.push({ type: type === '' ? 'message' : type, data: data.endsWith('\n') ? data.slice(0, -1) : data, lastEventId })
      data = ''
      type = ''
      continue
    }
    if (line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') type = value
    else if (field === 'data') data += value + '\n'
    else if (field === 'id') { if (!value.includes('\u0000')) lastEventId = value } else if (field === 'retry') { if (/^[0-9]+$/.test(value)) retries.push(Number(value)) } else unknownFields.push(field)
  }
  return { events, lastEventId, unknownFields, retries }
}

/** A message as ASCII-only JSON (TAP output must not carry U+2028, NEL or lone surrogates). */
function show (value: unknown): string {
  const text = JSON.stringify(value, (key, v: unknown) => typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)
  return text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function runProperty (t: Test, seed: number, count: number): void {
  t.comment(`seed ${seed} (rerun with SSE_FUZZ_SEED=${seed})`)
  const fuzz = new Fuzz(seed)
  const stream = eventsourceParser()
  const valid: Array<{ frame: string, expected: Expected }> = []
  let refused = 0
  let multiLine = 0
  for (let i = 0; i < count; i++) {
    const message = fuzz.message()
    const expected = expect(message)
    const label = `seed ${seed} message #${i}: ${show(message)}`
    let frame: string
    try {
      frame = encode(message)
    } catch (err) {
      const e = err as { code?: string, message: string }
      const field = /message field (\w+) is invalid/.exec(e.message)?.[1]
      t.ok(e.code === 'FST_SSE_INVALID_FIELD' && field !== undefined && expected.invalid.includes(field),
        `refused only for a bad field: ${e.code ?? ''} ${show(e.message)} - ${label}`)
      refused++
      continue
    }
    // Syntax: no CR anywhere, and the only blank line is the one that ends the frame.
    const syntaxOk = frame === '' || (!frame.includes('\r') && frame.indexOf('\n\n') === frame.length - 2)
    const single = eventsourceParser()
    overTheWire(frame, fuzz, single.feed)
    const spec = specParse(wire(frame))
    const actual = {
      invalid: [] as string[],
      syntaxOk,
      parser: single.output,
      spec: { events: spec.events, lastEventId: spec.lastEventId, unknownFields: spec.unknownFields, retries: spec.retries },
      json: single.output.events.length === 1 && expected.json !== undefined ? JSON.parse(single.output.events[0]?.data ?? '') as unknown : undefined
    }
    const want = {
      invalid: expected.invalid,
      syntaxOk: true,
      parser: { events: expected.events, retries: expected.retries, comments: expected.comments, errors: [] },
      spec: {
        events: expected.events.map((e) => ({ type: e.event ?? 'message', data: e.data, lastEventId: expected.setsId ?? '' })),
        lastEventId: expected.setsId ?? '',
        unknownFields: [],
        retries: expected.retries
      },
      json: expected.json
    }
    t.strictSame(actual, want, label)
    if (frame === '') t.same(message, {}, `only a message without fields encodes to nothing - ${label}`)
    if (typeof (message as { data?: unknown }).data === 'string' && BREAK.test((message as { data: string }).data)) multiLine++
    valid.push({ frame, expected })
    stream.feed(wire(frame))
  }

  // Many frames through one parser: exactly the concatenation of the expected events, so
  // no frame ended early, leaked into the next one or forged an extra event.
  const all = valid.map((v) => v.frame).join('')
  const concatenated = eventsourceParser()
  overTheWire(all, fuzz, concatenated.feed)
  t.strictSame(concatenated.output, {
    events: valid.flatMap((v) => v.expected.events),
    retries: valid.flatMap((v) => v.expected.retries),
    comments: valid.flatMap((v) => v.expected.comments),
    errors: []
  }, `seed ${seed}: ${valid.length} frames through one eventsource-parser`)
  t.strictSame(stream.output, concatenated.output, 'fed frame by frame as JS strings, the same events')

  // The spec parser over the whole stream: the last event ID persists across frames, and
  // a frame with only `id` (even `id: ''`) changes it for the events that follow.
  let lastEventId = ''
  const specExpected: SpecEvent[] = []
  for (const { expected } of valid) {
    if (expected.setsId !== undefined) lastEventId = expected.setsId
    for (const e of expected.events) specExpected.push({ type: e.event ?? 'message', data: e.data, lastEventId })
  }
  const spec = specParse(wire(all))
  t.strictSame(spec.events, specExpected, `seed ${seed}: the WHATWG steps over the whole stream`)
  t.strictSame(spec.unknownFields, [], 'no line is ever read as an unknown field')

  // The generator must really exercise both outcomes, or the test proves nothing.
  t.ok(refused > count / 20, `${refused} messages refused`)
  t.ok(valid.length > count / 2, `${valid.length} messages encoded`)
  t.ok(multiLine > count / 20, `${multiLine} messages with multi-line string data`)
}

t.test('1,000 random messages each throw FST_SSE_INVALID_FIELD or round-trip exactly (fixed seed)', async (t) => {
  runProperty(t, 0x5eed, 1000)
})

t.test('1,000 random messages each throw FST_SSE_INVALID_FIELD or round-trip exactly (fresh seed)', async (t) => {
  const seed = Number(process.env.SSE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32))
  runProperty(t, seed, 1000)
})
