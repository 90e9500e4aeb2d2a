import t from 'tap'
import { ImportSessions, checkImportUrl } from '../../../src/backends/graph/import-sessions.js'

const url = (n: number): string => `https://outlook.example/api/gv1.0/Mailboxes('MBX:a@t')/importItem?authtoken=tok${n}`

t.test('importUrl must be https on an allowed host', async (t) => {
  t.equal(checkImportUrl(url(1), ['outlook.example']).host, 'outlook.example')
  t.equal(checkImportUrl('https://127.0.0.1:9443/x?authtoken=1', ['127.0.0.1:9443']).port, '9443')
  t.throws(() => checkImportUrl('http://outlook.example/x', ['outlook.example']), {
    code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE'
  })
  const err = (() => {
    try {
      checkImportUrl('https://evil.example/x?authtoken=SECRET', ['outlook.example'], 'exo')
    } catch (e) {
      return e as Error & { code?: string }
    }
  })()
  // A host the configuration does not list is a setting to fix (or to keep refusing): named as such.
  t.equal(err?.code, 'MBG_ERR_BACKEND_MISCONFIGURED')
  t.match(err?.message, /evil\.example.*backends\.exo\.allowedImportHosts/)
  t.notMatch(err?.message ?? 'SECRET', /SECRET/, 'the authtoken is not in the message')
  t.throws(() => checkImportUrl(undefined, ['outlook.example']), { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' })
})

t.test('sessions are shared, reused until the renewal margin, then renewed', async (t) => {
  let now = 1_000_000
  let created = 0
  const sessions = new ImportSessions({
    renewBeforeMs: 300_000,
    allowedHosts: ['outlook.example'],
    now: () => now,
    create: async () => {
      created++
      await new Promise((resolve) => setTimeout(resolve, 5))
      return { importUrl: url(created), expirationDateTime: new Date(now + 900_000).toISOString() }
    }
  })
  const [a, b] = await Promise.all([sessions.get('MBX:a@t'), sessions.get('MBX:a@t')])
  t.equal(created, 1, 'concurrent callers share one creation')
  t.equal(a, b)
  t.equal(a.importUrl, url(1), 'the importUrl is kept exactly as returned')
  now += 500_000
  t.equal(await sessions.get('MBX:a@t'), a, 'still fresh')
  now += 200_000 // 700 s of 900 s: inside the 300 s margin
  const c = await sessions.get('MBX:a@t')
  t.equal(created, 2)
  t.not(c, a)
  sessions.invalidate(a)
  t.equal(await sessions.get('MBX:a@t'), c, 'invalidating a stale session does not drop the current one')
  sessions.invalidate(c)
  await sessions.get('MBX:a@t')
  t.equal(created, 3)
  await sessions.get('MBX:other@t')
  t.equal(created, 4, 'one session per mailbox')
})

t.test('short-lived sessions are renewed at half their life, not on every call', async (t) => {
  let now = 0
  let created = 0
  const sessions = new ImportSessions({
    renewBeforeMs: 300_000,
    allowedHosts: ['outlook.example'],
    now: () => now,
    create: async () => {
      created++
      return { importUrl: url(created), expirationDateTime: new Date(now + 60_000).toISOString() }
    }
  })
  await sessions.get('MBX:a@t')
  now += 20_000
  await sessions.get('MBX:a@t')
  t.equal(created, 1)
  now += 15_000
  await sessions.get('MBX:a@t')
  t.equal(created, 2)
})

t.test('a failed creation is not cached', async (t) => {
  let fail = true
  const sessions = new ImportSessions({
    renewBeforeMs: 0,
    allowedHosts: ['outlook.example'],
    create: async () => {
      if (fail) throw new Error('boom')
      return { importUrl: url(1), expirationDateTime: new Date(Date.now() + 60_000).toISOString() }
    }
  })
  await t.rejects(sessions.get('MBX:a@t'), /boom/)
  fail = false
  t.equal((await sessions.get('MBX:a@t')).importUrl, url(1))
})
