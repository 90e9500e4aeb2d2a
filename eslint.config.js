// ESLint flat config: neostandard (the style of the Fastify ecosystem) plus the layer boundaries of
// README "Architecture", enforced on resolved file paths by eslint-plugin-import-x `no-restricted-paths`.
// `test/app/lint-boundaries.test.ts` shows each boundary rule failing on a deliberate violation.
import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'
import importX, { createNodeResolver } from 'eslint-plugin-import-x'

const root = import.meta.dirname

/** Protocol libraries only adapters (src/backends/ews, src/backends/graph, src/auth) may use. */
const PROTOCOL_LIBRARIES = ['undici', 'fast-xml-parser', '@azure/msal-node']

/** Gateway code a simulator must not depend on: simulators are checked against the protocol, not against us. */
const GATEWAY = ['src/backends', 'src/auth', 'src/service', 'src/app.ts', 'routes', 'plugins']

export default [
  ...neostandard({
    ts: true,
    ignores: [...resolveIgnoresFromGitignore(), 'test/fixtures/**'],
  }),
  {
    rules: {
      '@stylistic/max-len': ['error', {
        code: 120,
        ignoreUrls: true,
        ignoreRegExpLiterals: true,
        // A line that is one string literal and nothing more (verbatim protocol messages, XML samples): splitting
        // it would only hide the text from search.
        ignorePattern: String.raw`^\s*(?:[\w$]+: |return |[?:] |\+ )?(['"\x60]).*\1[\s,+)\]}]*$`,
      }],
      // The codebase's convention: `{ a: string, b: number }` on one line, no delimiter at line ends.
      '@stylistic/member-delimiter-style': ['error', {
        multiline: { delimiter: 'none' },
        singleline: { delimiter: 'comma', requireLast: false },
      }],
    },
  },
  {
    files: ['src/**/*.ts', 'routes/**/*.ts', 'plugins/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Resolve `./x.js` to `./x.ts` (NodeNext specifiers) so zones compare real files.
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.js', '.json'],
          extensionAlias: { '.js': ['.ts', '.js'] },
        }),
      ],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', {
        basePath: root,
        zones: [
          {
            target: 'routes',
            from: 'src/backends',
            except: ['mailbox-backend.ts'],
            message: 'Routes reach backends through the service layer and the port (src/backends/mailbox-backend.ts).',
          },
          {
            target: 'routes',
            from: ['src/auth', 'src/simulators'],
            message: 'Routes do not use token providers or simulators.',
          },
          {
            target: 'src/backends/ews',
            from: ['src/backends/graph', 'src/simulators'],
            message: 'The EWS adapter imports neither the Graph adapter nor a simulator.',
          },
          {
            target: 'src/backends/graph',
            from: ['src/backends/ews', 'src/simulators'],
            message: 'The Graph adapter imports neither the EWS adapter nor a simulator.',
          },
          {
            target: 'src/simulators',
            from: GATEWAY,
            message: 'Simulators do not import gateway code (backends, auth, service, app, routes, plugins).',
          },
        ],
      }],
    },
  },
  {
    files: ['routes/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: PROTOCOL_LIBRARIES.map((name) => ({
          name,
          message: 'Routes do not speak a protocol: use the service layer.',
        })),
        patterns: [{
          group: PROTOCOL_LIBRARIES.map((name) => `${name}/*`),
          message: 'Routes do not speak a protocol: use the service layer.',
        }],
      }],
    },
  },
]
