/**
 * Child processes for the tests that start the gateway or the simulators the
 * way a user does. On a busy 2-core machine a cold `node --import tsx` start
 * has been seen to take more than 30 s, so every wait here is generous and ends
 * as soon as the process has said what the test waits for (a ready line, or its
 * exit); the budget only bounds a process that hangs.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { generateApiKey } from '../../src/access/authenticator.js'
import { persist } from './logs.js'

/** Project root, the working directory of the processes started here. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Longest wait, in ms, for a child process to start, answer or exit before the test gives up. */
export const PROCESS_BUDGET_MS = 180_000

export type Child = ChildProcessByStdio<null, Readable, Readable>

/** Starts `node --import tsx <script> ...args` from the project root, stdout and stderr piped. */
/**
 * The demo client's API key of every gateway process a test starts (DEMO_API_KEY, unless the test sets its own);
 * configured-mode documents built with `simulatorDocument(sims, { apiKey: PROCESS_API_KEY })` accept it too.
 */
export const PROCESS_API_KEY = generateApiKey()

export function startTs (script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  // Spawned gateways keep their state in memory unless a test asks for a file (never the repo's data/ folder).
  env = { DEMO_API_KEY: PROCESS_API_KEY, STATE_STORE: 'memory', ...env }
  return spawn(process.execPath, ['--import', 'tsx', script, ...args],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
}

/**
 * Resolves with the first match of `pattern` in what the child writes to `stream`
 * (accumulated, so a line split across chunks still matches). Rejects when the
 * child exits first, or after PROCESS_BUDGET_MS, quoting what it wrote.
 */
export async function waitForOutput (
  child: Child, stream: 'stdout' | 'stderr', pattern: RegExp
): Promise<RegExpExecArray> {
  return await new Promise<RegExpExecArray>((resolve, reject) => {
    let out = ''
    const onData = (chunk: Buffer): void => {
      out += chunk.toString()
      const m = pattern.exec(out)
      if (m !== null) { done(); resolve(m) }
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      done()
      reject(new Error(`process exited (${String(code ?? signal)}) before printing ${String(pattern)}:\n${out}`))
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`no ${String(pattern)} within ${PROCESS_BUDGET_MS / 1000} s:\n${out}`))
    }, PROCESS_BUDGET_MS)
    const done = (): void => {
      clearTimeout(timer)
      child[stream].off('data', onData)
      child.off('exit', onExit)
    }
    child[stream].on('data', onData)
    child.once('exit', onExit)
  })
}

export interface Finished { status: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

/**
 * Runs `node --import tsx <script> ...args` to completion and returns its exit status and
 * output; a process still running after PROCESS_BUDGET_MS is killed (status null, SIGKILL).
 */
export async function runTs (script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Finished> {
  const child = startTs(script, args, env)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, PROCESS_BUDGET_MS)
  return await new Promise<Finished>((resolve, reject) => {
    child.once('error', (err) => { clearTimeout(timer); reject(err) })
    // 'close', not 'exit': all output has been read by then.
    child.once('close', (status, signal) => { clearTimeout(timer); resolve({ status, signal, stdout, stderr }) })
  })
}

/** A gateway process a test started (startGatewayProcess). */
export interface GatewayProcess {
  child: Child
  /** Everything it printed so far, stdout and stderr interleaved. */
  output: () => string
  /** Resolves with its exit code once it has closed. */
  closed: Promise<number | null>
}

/**
 * Starts `src/server.ts` as `npm start` does, with this process's environment minus MBG_CONFIG and
 * MBG_CONFIG_FILE, on loopback, a free port, no load shedding (a cold start on a busy machine lags), then `env`.
 * Collects its output, kills it at teardown if it still runs, and adds its output to the suite-wide log scan.
 */
export function startGatewayProcess (t: Test, env: NodeJS.ProcessEnv): GatewayProcess {
  const base: NodeJS.ProcessEnv = { ...process.env }
  delete base.MBG_CONFIG
  delete base.MBG_CONFIG_FILE
  const child = startTs('src/server.ts', [],
    { ...base, HOST: '127.0.0.1', PORT: '0', MAX_EVENT_LOOP_DELAY_MS: '0', ...env })
  let text = ''
  child.stdout.on('data', (c: Buffer) => { text += c.toString() })
  child.stderr.on('data', (c: Buffer) => { text += c.toString() })
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => { resolve(code) }))
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    persist(text.split('\n').filter((l) => l.length > 0))
  })
  return { child, output: () => text, closed }
}
