// The load client: a separate process driven by the runner over IPC. It speaks HTTP/1.1 by
// hand over raw `net` sockets and counts SSE frames by scanning the (de-chunked) body for
// the blank line that ends each frame, so it does far less work per event than any server.
//
// Ops (message -> reply):
//   { op: 'open', port, path, count, headers?, paused?, mode? } -> { op: 'opened', ok, failed }
//   { op: 'expect', frames, timeoutMs }  -> { op: 'armed' } now, then { op: 'done', ... }
//   { op: 'stream', port, path, frames, timeoutMs } -> { op: 'streamed', frames, bytes, ms }
//   { op: 'close' } -> { op: 'closed' }
// mode 'count' only counts frames; 'latency' also reads the payload's `t` (publish time,
// monotonic microseconds); 'ids' also keeps the last `id:` seen.
import net from 'node:net'

const NL = 10
const COLON = 58
const R = 114
const HEADER_END = Buffer.from('\r\n\r\n')
const MAX_IN_FLIGHT = 256
// One read buffer for every socket (`onread`): no per-read allocation and no stream machinery,
// the callback sees the bytes and is done with them before the next read.
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024)

let conns = []
let latencies = []
let expecting = null

const now = () => process.hrtime.bigint()

class Conn {
  constructor ({ port, path, headers = {}, paused = false, mode = 'count' }) {
    this.paused = paused
    this.mode = mode
    this.frames = 0
    this.bytes = 0
    this.lastId = undefined
    this.reachedAt = 0n
    this.closed = false
    this.head = null
    this.chunked = false
    this.state = 'head'
    this.remaining = 0 // bytes left in the current chunk
    this.sizeLine = ''
    this.lastNL = false
    this.atStart = true
    this.counting = false
    this.text = ''
    this.onHeaders = null
    this.onEnd = null
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    this.socket = net.connect({
      port,
      host: '127.0.0.1',
      onread: { buffer: READ_BUFFER, callback: (nread, buf) => this.data(buf.subarray(0, nread)) }
    })
    this.socket.setNoDelay(true)
    this.socket.on('connect', () => {
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n${extra}\r\n`)
    })
    this.socket.on('error', () => {})
    this.socket.on('close', () => this.close())
  }

  close () {
    if (this.closed) return
    this.closed = true
    if (this.onHeaders) this.onHeaders(false)
    if (this.onEnd) this.onEnd()
    if (expecting && !this.paused && !this.reachedAt) expecting.failed(this)
  }

  data (buf) {
    let i = 0
    if (this.state === 'head') {
      this.head = this.head ? Buffer.concat([this.head, buf]) : Buffer.from(buf)
      const end = this.head.indexOf(HEADER_END)
      if (end === -1) return
      const text = this.head.toString('latin1', 0, end)
      this.status = Number(text.slice(9, 12))
      this.chunked = /\r\ntransfer-encoding: *chunked/i.test(text)
      buf = this.head
      i = end + 4
      this.head = null
      this.state = this.chunked ? 'size' : 'body'
      if (this.paused) this.socket.pause()
      if (this.onHeaders) this.onHeaders(this.status === 200)
      this.onHeaders = null
    }
    const len = buf.length
    while (i < len) {
      if (this.state === 'body') {
        this.body(buf, i, len)
        i = len
      } else if (this.state === 'size') {
        const nl = buf.indexOf(NL, i)
        if (nl === -1) {
          this.sizeLine += buf.toString('latin1', i, len)
          i = len
        } else {
          this.sizeLine += buf.toString('latin1', i, nl)
          this.remaining = parseInt(this.sizeLine, 16)
          this.sizeLine = ''
          i = nl + 1
          if (this.remaining === 0) {
            this.state = 'done'
            this.socket.end()
            if (this.onEnd) this.onEnd()
          } else {
            this.state = 'chunk'
          }
        }
      } else if (this.state === 'chunk') {
        const end = Math.min(len, i + this.remaining)
        this.body(buf, i, end)
        this.remaining -= end - i
        i = end
        if (this.remaining === 0) this.state = 'crlf'
      } else if (this.state === 'crlf') {
        const nl = buf.indexOf(NL, i)
        if (nl === -1) {
          i = len
        } else {
          i = nl + 1
          this.state = 'size'
        }
      } else {
        i = len
      }
    }
    if (expecting && !this.reachedAt && !this.paused && this.frames >= expecting.frames) {
      this.reachedAt = now()
      expecting.reached(this)
    }
  }

  // Counts the frames that end in buf[start, end): a frame ends at "\n\n"; frames that start
  // with ':' (comments, heartbeats) or 'r' (a lone `retry:`) are not events and not counted.
  body (buf, start, end) {
    this.bytes += end - start
    if (this.mode !== 'count') return this.parse(buf.toString('latin1', start, end))
    let i = start
    while (i < end) {
      if (this.atStart) {
        this.counting = buf[i] !== COLON && buf[i] !== R && buf[i] !== NL
        this.atStart = false
      }
      if (this.lastNL && buf[i] === NL) {
        if (this.counting) this.frames++
        this.lastNL = false
        this.atStart = true
        i++
        continue
      }
      const j = buf.indexOf('\n\n', i)
      if (j === -1 || j + 1 >= end) {
        this.lastNL = buf[end - 1] === NL
        return
      }
      if (this.counting) this.frames++
      this.lastNL = false
      this.atStart = true
      i = j + 2
    }
  }

  // The slow path for latency and resume: keep the text, split whole frames, read fields.
  parse (text) {
    this.text += text
    const last = this.text.lastIndexOf('\n\n')
    if (last === -1) return
    const frames = this.text.slice(0, last).split('\n\n')
    this.text = this.text.slice(last + 2)
    const at = Number(now() / 1000n)
    for (const frame of frames) {
      if (!frame.includes('data:')) continue
      this.frames++
      const id = /^id: ?(.*)$/m.exec(frame)
      if (id) this.lastId = id[1]
      if (this.mode === 'latency') {
        const t = /"t":(\d+)/.exec(frame)
        if (t) latencies.push(at - Number(t[1]))
      }
    }
  }
}

async function open (msg) {
  let ok = 0
  let failed = 0
  let next = 0
  async function worker () {
    while (next < msg.count) {
      next++
      const conn = new Conn(msg)
      conns.push(conn)
      const good = await new Promise((resolve) => {
        conn.onHeaders = resolve
      })
      if (good) ok++
      else failed++
    }
  }
  await Promise.all(Array.from({ length: Math.min(MAX_IN_FLIGHT, msg.count) }, worker))
  process.send({ op: 'opened', seq: msg.seq, ok, failed })
}

function expect ({ seq, frames, timeoutMs, mode = 'count', sample = 1 }) {
  latencies = []
  const targets = conns.filter((c) => !c.paused)
  let left = 0
  let failed = 0
  targets.forEach((c, k) => {
    // Called between bursts, so every connection sits on a frame boundary.
    c.mode = k % sample === 0 ? mode : 'count'
    c.text = ''
    c.atStart = true
    c.lastNL = false
    c.reachedAt = c.frames >= frames ? now() : 0n
    if (c.closed && !c.reachedAt) failed++
    else if (!c.reachedAt) left++
  })
  const cpu = process.cpuUsage()
  let lastAt = 0n
  const finish = (complete) => {
    if (!expecting) return
    clearTimeout(timer)
    expecting = null
    const counts = targets.map((c) => c.frames)
    const { user, system } = process.cpuUsage(cpu)
    process.send({
      op: 'done',
      seq,
      complete: complete && failed === 0,
      failed,
      lastAt: String(lastAt),
      minFrames: counts.length ? Math.min(...counts) : 0,
      frames: counts.reduce((a, b) => a + b, 0),
      bytes: targets.reduce((a, c) => a + c.bytes, 0),
      lastIds: targets.slice(0, 3).map((c) => c.lastId),
      latencies,
      cpuMs: (user + system) / 1000
    })
  }
  const timer = setTimeout(() => finish(false), timeoutMs)
  expecting = {
    frames,
    reached (c) {
      if (c.reachedAt > lastAt) lastAt = c.reachedAt
      if (--left === 0) finish(true)
    },
    failed () {
      failed++
      if (--left === 0) finish(true)
    }
  }
  process.send({ op: 'armed', seq })
  if (left === 0) finish(true)
}

function stream ({ seq, port, path, headers, mode, frames, timeoutMs }) {
  const start = now()
  const cpu = process.cpuUsage()
  const conn = new Conn({ port, path, headers, mode })
  conns.push(conn)
  let sent = false
  const finish = () => {
    if (sent) return
    sent = true
    clearTimeout(timer)
    expecting = null
    const end = conn.reachedAt || now()
    const { user, system } = process.cpuUsage(cpu)
    process.send({ op: 'streamed', seq, frames: conn.frames, bytes: conn.bytes, lastId: conn.lastId, ms: Number(end - start) / 1e6, cpuMs: (user + system) / 1000 })
  }
  const timer = setTimeout(finish, timeoutMs)
  expecting = { frames, reached: finish, failed: finish }
  conn.onEnd = finish
}

function close ({ seq }) {
  for (const c of conns) c.socket.destroy()
  conns = []
  expecting = null
  process.send({ op: 'closed', seq })
}

process.on('message', (msg) => {
  if (msg.op === 'open') open(msg)
  else if (msg.op === 'expect') expect(msg)
  else if (msg.op === 'stream') stream(msg)
  else if (msg.op === 'close') close(msg)
})
process.on('disconnect', () => process.exit(0))
