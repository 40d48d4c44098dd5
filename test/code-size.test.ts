// Issue #14's size rule: no file in src/ over 300 lines and no function whose body spans over 60 lines, unless
// the README's Development section says why (its "Longer than the limits, and why" table), so the reason is
// stated once, where readers look. Generated files are exempt.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 60;
const ALLOW_HEADING = 'Longer than the limits, and why';

interface Offender {
  file: string;
  line: number;
  /** Empty for the file as a whole, else e.g. `Trainer.run` or `chunkLogBatch`. */
  name: string;
  lines: number;
}

/** A row of the README's allow-list: a file and `whole file` or one of its functions. */
interface Allowance {
  file: string;
  name: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return sourceFiles(path);
      return e.name.endsWith('.ts') && !e.name.endsWith('.generated.ts') ? [path] : [];
    });
}

function lineOf(source: ts.SourceFile, position: number): number {
  return source.getLineAndCharacterOfPosition(position).line + 1;
}

/** The name a function is known by, or undefined for one that is only passed along (a callback). */
function functionName(node: ts.Node): string | undefined {
  if (ts.isConstructorDeclaration(node)) return memberName(node, 'constructor');
  if (ts.isFunctionDeclaration(node)) return node.name?.text;
  if (ts.isMethodDeclaration(node) || ts.isAccessor(node)) return memberName(node, node.name.getText());
  if (!ts.isArrowFunction(node) && !ts.isFunctionExpression(node)) return undefined;
  const parent = node.parent;
  if (ts.isPropertyDeclaration(parent)) return memberName(parent, parent.name.getText());
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText();
  if (ts.isBinaryExpression(parent) && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) return parent.left.getText();
  return undefined;
}

/** `Class.member` for a member of a class, the name alone for one of an object literal. */
function memberName(member: ts.Node, name: string): string {
  const owner = member.parent;
  return ts.isClassLike(owner) && owner.name ? `${owner.name.text}.${name}` : name;
}

function longFunctions(file: string, source: ts.SourceFile): Offender[] {
  const found: Offender[] = [];
  const visit = (node: ts.Node): void => {
    const body = (node as ts.FunctionLikeDeclaration).body;
    const name = body && functionName(node);
    if (body && name) {
      const lines = lineOf(source, body.getEnd()) - lineOf(source, body.getStart(source)) + 1;
      if (lines > MAX_FUNCTION_LINES) found.push({ file, line: lineOf(source, node.getStart(source)), name, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every file and function under `root` over the limits, allowed or not. */
function sizeOffenders(root: string): Offender[] {
  return sourceFiles(root).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const tooLong = lines > MAX_FILE_LINES ? [{ file, line: 1, name: '', lines }] : [];
    return [...tooLong, ...longFunctions(file, source)];
  });
}

/** The rows of the allow-list table under ### Longer than the limits, and why, inside ## Development. */
function allowances(readme: string): Allowance[] {
  const development = readme.split(/^## /m).find((s) => s.startsWith('Development\n'));
  assert.ok(development, 'README.md has no ## Development section');
  const section = development.split(/^### /m).find((s) => s.startsWith(`${ALLOW_HEADING}\n`));
  assert.ok(section, `README.md's Development section has no ### ${ALLOW_HEADING}`);
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim().replace(/^`|`$/g, '')),
    );
  // The first row names the columns, the second is the |---| rule.
  return rows.slice(2).map(([file, name, why]) => {
    assert.ok(
      file && name && why,
      `README.md, ${ALLOW_HEADING}: a row needs a file, a function or whole file, and a reason (got | ${file} | ${name} | ${why} |)`,
    );
    return { file, name: name === 'whole file' ? '' : name };
  });
}

const describeOffender = (o: Offender) =>
  o.name
    ? `${o.file}:${o.line} ${o.name}: body spans ${o.lines} lines (limit ${MAX_FUNCTION_LINES})`
    : `${o.file}:${o.line} ${o.lines} lines (limit ${MAX_FILE_LINES})`;

describe('code size (issue #14)', () => {
  const offenders = sizeOffenders('src');
  const allowed = allowances(readFileSync('README.md', 'utf8'));
  const isAllowed = (o: Offender) => allowed.some((a) => a.file === o.file && a.name === o.name);

  it(`no file in src/ over ${MAX_FILE_LINES} lines and no function over ${MAX_FUNCTION_LINES}, unless the README says why`, () => {
    const unexplained = offenders.filter((o) => !isAllowed(o)).map(describeOffender);
    assert.deepEqual(
      unexplained,
      [],
      `shorten these, or give the reason in README.md under ### ${ALLOW_HEADING}:\n${unexplained.join('\n')}`,
    );
  });

  it('the allow-list names only what is still over the limits', () => {
    const stale = allowed
      .filter((a) => !offenders.some((o) => o.file === a.file && o.name === a.name))
      .map((a) => `${a.file} ${a.name || 'whole file'}`);
    assert.deepEqual(
      stale,
      [],
      `no longer over the limits (or not found): remove their rows from README.md's ${ALLOW_HEADING}:\n${stale.join('\n')}`,
    );
  });
});
