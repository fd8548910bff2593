/**
 * An SMTP server for the tests (RFC 5321's plain conversation: EHLO, AUTH
 * PLAIN, MAIL, RCPT, DATA, QUIT), keeping what it is sent, so the e-mail
 * actions are tried against a real conversation.
 */
import { createServer, type AddressInfo, type Server } from 'node:net'

export type Received = { to: string[]; data: string; auth: string | null }

export class SmtpSink {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly mails: Received[],
  ) {}

  static async start(): Promise<SmtpSink> {
    const mails: Received[] = []
    const server = createServer((socket) => {
      let buffer = ''
      let inData = false
      let data = ''
      let to: string[] = []
      let auth: string | null = null
      socket.write('220 sink.test ESMTP\r\n')
      socket.on('data', (chunk) => {
        buffer += chunk.toString('utf8')
        for (;;) {
          const end = buffer.indexOf('\r\n')
          if (end < 0) return
          const line = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          if (inData) {
            if (line === '.') {
              inData = false
              mails.push({ to, data, auth })
              to = []
              data = ''
              socket.write(`250 2.0.0 Ok: queued as NODE${mails.length}\r\n`)
            } else {
              data += (line.startsWith('.') ? line.slice(1) : line) + '\r\n'
            }
            continue
          }
          const verb = line.split(' ')[0].toUpperCase()
          if (verb === 'EHLO')
            socket.write('250-sink.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n')
          else if (verb === 'AUTH') {
            const raw = Buffer.from(line.split(' ')[2] ?? '', 'base64')
            auth = raw.toString('utf8').replace(/^\0/, '')
            socket.write('235 2.7.0 Ok\r\n')
          } else if (verb === 'RCPT') {
            to.push(line.replace(/^[^<]*<([^>]*)>.*$/, '$1'))
            socket.write('250 2.1.5 Ok\r\n')
          } else if (verb === 'DATA') {
            inData = true
            socket.write('354 go ahead\r\n')
          } else if (verb === 'QUIT') {
            socket.end('221 2.0.0 Bye\r\n')
          } else socket.write('250 Ok\r\n')
        }
      })
      socket.on('error', () => {})
    })
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
    return new SmtpSink(server, (server.address() as AddressInfo).port, mails)
  }

  /** Waits (up to 20 s) for `n` mails to `to`. */
  async waitFor(to: string, n: number): Promise<Received[]> {
    for (let i = 0; i < 200; i++) {
      const got = this.mails.filter((m) => m.to.includes(to))
      if (got.length >= n) return got
      await new Promise((ok) => setTimeout(ok, 100))
    }
    throw new Error(`${n} mail(s) to ${to} never arrived`)
  }

  close(): Promise<void> {
    return new Promise((ok) => this.server.close(() => ok()))
  }
}
