// tap `before` hook: start the suite-wide log capture from an empty folder.
import { rmSync, mkdirSync } from 'node:fs'
import { LOG_DIR } from './helpers/logs.js'

rmSync(LOG_DIR, { recursive: true, force: true })
mkdirSync(LOG_DIR, { recursive: true })
