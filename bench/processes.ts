/**
 * The benchmark's child processes: the simulators in one (bench/sim-process.ts), each gateway in another
 * (bench/gateway-process.ts wrapping src/server.ts), so the CPU time and memory of each are measured apart, from
 * outside, in /proc (Linux; proc(5)): `/proc/<pid>/stat` utime + stime for CPU, `/proc/<pid>/status` VmRSS and
 * VmHWM for memory, and `echo 5 > /proc/<pid>/clear_refs` to reset VmHWM to the current RSS before a scenario.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Project root: the children's working directory. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux the project runs on). */
const TICKS_PER_SECOND = 100

/** CPU time (user + system) a process has used so far, in ms (10 ms resolution). */
export function cpuMs (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may contain spaces: state is field 3, utime 14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_SECOND
}

function statusKb (pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`)
  return Number(m[1])
}

/** Resident set size now, in bytes. */
export const rssBytes = (pid: number): number => statusKb(pid, 'VmRSS') * 1024

/** Peak resident set size since start or the last resetPeak, in bytes. */
export const peakRssBytes = (pid: number): number => statusKb(pid, 'VmHWM') * 1024

/** Resets the process's VmHWM to its current RSS (proc(5), /proc/<pid>/clear_refs, value 5). */
export function resetPeak (pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5')
}

/** A free loopback TCP port (bound and released; good enough for a benchmark on one machine). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => { resolve(port) })
    })
  })
}

/** A child speaking request/answer messages over IPC: `{id, ...request}` out, `{id, ...answer}` back. */
export class IpcChild {
  private next = 0
  private readonly waiting = new Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>()
  readonly exited: Promise<void>

  constructor (readonly child: ChildProcess, readonly name: string, readonly logFile: string) {
    child.on('message', (msg: { id?: number, error?: string }) => {
      if (msg.id === undefined) return
      const w = this.waiting.get(msg.id)
      this.waiting.delete(msg.id)
      if (msg.error !== undefined) w?.reject(new Error(`${name}: ${msg.error}`))
      else w?.resolve(msg)
    })
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        for (const w of this.waiting.values()) w.reject(new Error(`${name} exited (${String(code ?? signal)})`))
        this.waiting.clear()
        resolve()
      })
    })
  }

  get pid (): number { return this.child.pid as number }

  async ask<T = Record<string, unknown>> (request: Record<string, unknown>): Promise<T> {
    const id = ++this.next
    return await new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.child.send({ id, ...request })
    })
  }

  async stop (): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, 15_000)
    await this.exited
    clearTimeout(timer)
  }
}

/**
 * Starts `node [nodeArgs] --import tsx <script>` from the project root with an IPC channel, output to a log file
 * under the system temp folder, and waits for its first IPC message (`{ready: true, ...}`), which it returns.
 */
export async function startChild (name: string, script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []):
Promise<{ child: IpcChild, ready: Record<string, any> }> {
  const logFile = join(tmpdir(), `mbg-bench-${name}-${process.pid}.log`)
  const log = createWriteStream(logFile)
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc']
  })
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  const ipc = new IpcChild(child, name, logFile)
  const ready = await new Promise<Record<string, any>>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${name} not ready within 180 s (log: ${logFile})`)) }, 180_000)
    child.once('message', (msg: Record<string, any>) => { clearTimeout(timer); resolve(msg) })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited (${String(code)}) before it was ready (log: ${logFile})`))
    })
  })
  return { child: ipc, ready }
}

/**
 * Starts a gateway process (bench/gateway-process.ts) on a free loopback port, configured by `configFile` (a
 * simulator set's MBG_CONFIG_FILE), with an in-memory state store, warn-level logs and event-loop shedding off
 * (MAX_EVENT_LOOP_DELAY_MS=0: the benchmark and the memory tests measure the delay, they must not be shed).
 * `nodeArgs` go before the script (e.g. `--expose-gc`, `--cpu-prof`). Audit records go to a file of their own under
 * the system temp folder (as a production gateway would write them: a synchronous append per request, not a pipe
 * whose reader the write wakes), removed when the process exits. Returns the process and its base URL.
 */
export async function startGatewayProcess (name: string, configFile: string, nodeArgs: string[] = []):
Promise<{ child: IpcChild, base: string }> {
  const auditFile = join(tmpdir(), `mbg-bench-${name}-${process.pid}-audit.log`)
  const port = await freePort()
  const { child } = await startChild(name, 'bench/gateway-process.ts', {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: '127.0.0.1',
    PORT: String(port),
    MBG_CONFIG_FILE: configFile,
    STATE_STORE: 'memory',
    LOG_LEVEL: 'warn',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    AUDIT_LOG: auditFile
  }, nodeArgs)
  child.exited.then(() => { rmSync(auditFile, { force: true }) }, () => {})
  return { child, base: `http://127.0.0.1:${port}` }
}
