import { Type } from '@sinclair/typebox'
import { Problem } from './common.js'

const Mode = Type.Union([Type.Literal('demo'), Type.Literal('configured')], {
  description: 'demo: no backend configured, the built-in simulators serve the demo tenant.'
})

/** GET /health/live (and its alias GET /health). */
export const Liveness = Type.Object({
  status: Type.Literal('ok'),
  mode: Mode
}, { $id: 'Liveness', title: 'Liveness', additionalProperties: false })

const BackendType = Type.Union([Type.Literal('ews'), Type.Literal('graph')])
const CheckedAt = Type.String({ format: 'date-time', description: 'When it failed (the latest run, for a check).' })

const Circuit = Type.Optional(Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('halfOpen')], {
  description: 'The backend\'s circuit: closed; open (it kept failing: calls fail fast with 503 ' +
    'MBG_ERR_UPSTREAM_UNAVAILABLE and the gateway is not ready); halfOpen (a trial call is let through).'
}))

/** One backend's readiness (src/backends/health.ts BackendState). */
export const BackendState = Type.Union([
  Type.Object({
    type: BackendType,
    state: Type.Literal('unknown', { description: 'The start-up check is still running.' }),
    circuit: Circuit
  }, { additionalProperties: false }),
  Type.Object({
    type: BackendType,
    state: Type.Literal('ok', { description: 'The start-up check passed: a token fetch and a mailbox discovery.' }),
    circuit: Circuit
  }, { additionalProperties: false }),
  Type.Object({
    type: BackendType,
    state: Type.Literal('failing'),
    code: Type.String({
      description: 'MBG_ERR_* code; MBG_ERR_BACKEND_MISCONFIGURED names the setting to fix in detail.'
    }),
    detail: Type.String(),
    source: Type.Union([Type.Literal('check'), Type.Literal('call'), Type.Literal('circuit')], {
      description: 'check: the start-up check failed (re-run every 30 s until it passes); call: a real call ran ' +
        'into a configuration problem (kept until the gateway restarts with a fixed configuration); circuit: the ' +
        'backend kept failing and its circuit is open (until a trial call passes).'
    }),
    checkedAt: CheckedAt,
    circuit: Circuit
  }, { additionalProperties: false })
], { $id: 'BackendState', title: 'BackendState' })

const Backends = Type.Record(Type.String(), Type.Ref(BackendState), {
  description: 'Every configured backend, by name.'
})

/** GET /health/ready, 200. */
export const Readiness = Type.Object({
  status: Type.Literal('ready'),
  mode: Mode,
  backends: Backends
}, { $id: 'Readiness', title: 'Readiness', additionalProperties: false })

/** GET /health/ready, 503: a problem (MBG_ERR_NOT_READY) carrying the same per-backend report. */
export const NotReadyProblem = Type.Object({
  ...Problem.properties,
  backends: Type.Optional(Type.Record(Type.String(), Type.Ref(BackendState), {
    description: 'With MBG_ERR_NOT_READY: every configured backend, by name (absent when the gateway sheds load).'
  }))
}, { $id: 'NotReadyProblem', title: 'NotReadyProblem', additionalProperties: false })
