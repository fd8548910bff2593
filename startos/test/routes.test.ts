/**
 * An action for each admin route: the daemon lists its admin routes
 * (`keysat routes`, from the one routes table), the actions' calls of the
 * typed client are read from their source, and a route that no action
 * reaches must be in startos/apiOnly.ts with its reason.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import ts from 'typescript'
import { apiOnly } from '../apiOnly'
import { keysatBinary } from './harness'

type Route = { method: string; path: string; scope: string }

/** The daemon's admin routes, as `METHOD /path` with `{…}` for each parameter. */
function daemonRoutes(): Map<string, Route> {
  const out = execFileSync(keysatBinary(), ['routes'], { encoding: 'utf8' })
  const routes = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Route)
  return new Map(routes.map((r) => [`${r.method} ${r.path}`, r]))
}

const shape = (key: string) => key.replace(/\{[^}]*\}/g, '{}')

function parse(file: string) {
  return ts.createSourceFile(
    file,
    readFileSync(file, 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  )
}

/**
 * The client's methods: which admin routes each calls (`this.admin(…)`),
 * and which other methods of the client it calls.
 */
function clientMethods() {
  const sf = parse(join(__dirname, '..', 'api.ts'))
  const routes = new Map<string, Set<string>>()
  const calls = new Map<string, Set<string>>()
  const visitClass = (cls: ts.ClassDeclaration) => {
    for (const m of cls.members) {
      if (!ts.isMethodDeclaration(m) || !m.body) continue
      const name = m.name.getText()
      routes.set(name, new Set())
      calls.set(name, new Set())
      const walk = (n: ts.Node) => {
        if (
          ts.isCallExpression(n) &&
          ts.isPropertyAccessExpression(n.expression) &&
          n.expression.expression.kind === ts.SyntaxKind.ThisKeyword
        ) {
          const callee = n.expression.name.text
          if (callee === 'admin') {
            const [method, path] = n.arguments
            const p = ts.isTemplateExpression(path)
              ? path.head.text +
                path.templateSpans.map((s) => `{}${s.literal.text}`).join('')
              : (path as ts.StringLiteral).text
            routes.get(name)!.add(`${(method as ts.StringLiteral).text} ${p}`)
          } else {
            calls.get(name)!.add(callee)
          }
        }
        ts.forEachChild(n, walk)
      }
      walk(m.body)
    }
  }
  sf.forEachChild((n) => {
    if (ts.isClassDeclaration(n) && n.name?.text === 'KeysatApi') visitClass(n)
  })
  const reach = (name: string, seen = new Set<string>()): Set<string> => {
    if (seen.has(name)) return new Set()
    seen.add(name)
    const out = new Set(routes.get(name) ?? [])
    for (const c of calls.get(name) ?? [])
      reach(c, seen).forEach((r) => out.add(r))
    return out
  }
  return { names: [...routes.keys()], reach }
}

/** The client methods the actions call (`api.x(…)`), by file. */
function actionCalls(): Map<string, Set<string>> {
  const dir = join(__dirname, '..', 'actions')
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
    (f) => f.endsWith('.ts'),
  )
  const out = new Map<string, Set<string>>()
  for (const f of files) {
    const used = new Set<string>()
    const walk = (n: ts.Node) => {
      if (
        ts.isPropertyAccessExpression(n) &&
        n.expression.getText() === 'api' &&
        ts.isCallExpression(n.parent)
      ) {
        used.add(n.name.text)
      }
      ts.forEachChild(n, walk)
    }
    walk(parse(join(dir, f)))
    out.set(f, used)
  }
  return out
}

test('every admin route is reached by an action, or is API-only with a reason', () => {
  const routes = daemonRoutes()
  assert.ok(routes.size >= 50, `${routes.size} admin routes`)
  const client = clientMethods()
  const reached = new Map<string, string[]>()
  for (const [file, methods] of actionCalls()) {
    for (const m of methods) {
      assert.ok(
        client.names.includes(m),
        `${file} calls api.${m}, not a client method`,
      )
      for (const r of client.reach(m)) {
        reached.set(r, [...(reached.get(r) ?? []), file])
      }
    }
  }
  const missing = [...routes.keys()].filter(
    (k) => !reached.has(shape(k)) && !(k in apiOnly),
  )
  assert.deepEqual(
    missing,
    [],
    'admin routes no action reaches: add an action (or list it in startos/apiOnly.ts with the reason)',
  )
  for (const [k, why] of Object.entries(apiOnly)) {
    assert.ok(
      routes.has(k),
      `apiOnly names ${k}, which the daemon does not serve`,
    )
    assert.ok(
      !reached.has(shape(k)),
      `${k} is API-only but ${(reached.get(shape(k)) ?? []).join(', ')} reaches it`,
    )
    assert.ok(why.length > 40, `${k}: say why it has no action`)
  }
  // Every route the client calls is one the daemon serves.
  const served = new Set([...routes.keys()].map(shape))
  for (const r of reached.keys()) {
    assert.ok(
      served.has(r),
      `the client calls ${r}, which the daemon does not serve`,
    )
  }
})
