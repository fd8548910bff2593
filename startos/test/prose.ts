/**
 * Finds text meant for people that does not go through i18n(): string
 * literals and templates with at least two words, outside i18n() calls,
 * imports, console messages, regexes, placeholders and doc comments.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'

/** Property names whose strings are not shown as text. */
const notShown = new Set(['regex', 'placeholder', 'displayAs', 'inputmode'])

/** What is not shown to the operator: the tests, the dictionaries, API-only reasons. */
const notForPeople = ['test', 'i18n', 'apiOnly.ts']

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (notForPeople.includes(e.name)) return []
    if (e.isDirectory()) return files(p)
    return e.name.endsWith('.ts') ? [p] : []
  })
}

function isProse(text: string): boolean {
  return /[A-Za-z]{2,}[,.:;]?\s+[A-Za-z]{2,}/.test(text)
}

function excused(n: ts.Node): boolean {
  for (let p: ts.Node | undefined = n.parent; p; p = p.parent) {
    if (ts.isImportDeclaration(p) || ts.isExportDeclaration(p)) return true
    if (ts.isCallExpression(p)) {
      const callee = p.expression.getText()
      if (callee === 'i18n' || callee.startsWith('console.')) return true
      if (callee === 'Error' || callee.startsWith('new ')) return false
    }
    if (ts.isNewExpression(p) && p.expression.getText() === 'RegExp')
      return true
    if (
      ts.isPropertyAssignment(p) &&
      p.initializer === n &&
      (notShown.has(p.name.getText()) ||
        // A locale's own text (`en_US: '…'`): a dictionary already.
        /^[a-z]{2}_[A-Z]{2}$/.test(p.name.getText()))
    )
      return true
  }
  return false
}

/** `file:line: text` of each such literal under `root`. */
export function untranslated(root: string): string[] {
  const out: string[] = []
  for (const f of files(root)) {
    const sf = ts.createSourceFile(
      f,
      readFileSync(f, 'utf8'),
      ts.ScriptTarget.Latest,
      true,
    )
    const visit = (n: ts.Node) => {
      let text: string | null = null
      if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) {
        text = n.text
      } else if (ts.isTemplateExpression(n)) {
        text = [
          n.head.text,
          ...n.templateSpans.map((s) => s.literal.text),
        ].join(' ')
      }
      if (text !== null && isProse(text) && !excused(n)) {
        const { line } = sf.getLineAndCharacterOfPosition(n.getStart())
        out.push(`${relative(root, f)}:${line + 1}: ${text.slice(0, 60)}`)
      }
      ts.forEachChild(n, visit)
    }
    visit(sf)
  }
  return out
}

if (require.main === module) {
  console.log(untranslated(join(__dirname, '..')).join('\n'))
}
