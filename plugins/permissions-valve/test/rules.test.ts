/**
 * permissions.yml: structure validation at load time (with file, line and rule path) and the
 * selection of the rule that decides a name.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PermissionsError, compileRules } from '../src/rules/compile.ts';
import { compileInlineRules, loadRulesFile, parseYaml } from '../src/rules/load.ts';
import type { RuleSet } from '../src/rules/ruleset.ts';

const LIMITS = { maxLength: 4096, maxDepth: 64 };
const FIXTURE = fileURLToPath(new URL('./fixtures/permissions.yml', import.meta.url));

const ALLOW_ALL = {
  presence: { '*': { allow: true } },
  record: { '*': { create: true, write: true, read: true, delete: true, listen: true, notify: true } },
  event: { '*': { publish: true, subscribe: true, listen: true } },
  rpc: { '*': { provide: true, request: true } },
};

async function yamlFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'valve-'));
  const file = join(dir, 'permissions.yml');
  await writeFile(file, text);
  return file;
}

/** The problems a document is refused with. */
function problemsOf(document: unknown): readonly string[] {
  try {
    compileInlineRules(document, LIMITS);
  } catch (error) {
    if (error instanceof PermissionsError) return error.problems;
    throw error;
  }
  assert.fail('the document was accepted');
}

const withSection = (section: string, paths: unknown) => ({ ...ALLOW_ALL, [section]: paths });

describe('permissions file: loading and validation', () => {
  it('loads the shipped default and the complex example', async () => {
    compileInlineRules(ALLOW_ALL, LIMITS);
    const rules = await loadRulesFile(FIXTURE, LIMITS);
    assert.equal(rules.readsRecords, true);
    assert.equal(compileInlineRules(ALLOW_ALL, LIMITS).readsRecords, false);
  });

  it('loads the example of the README', async () => {
    const readme = await readFile(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    const example = /## Example\s+```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(example !== undefined, 'the README has an example');
    const { document, lineOf } = parseYaml(example, 'README.md');
    const rules = compileRules(document, { name: 'README.md', lineOf }, LIMITS);
    assert.equal(rules.select('record', 'write', 'order/1')?.rule.path, 'order/$orderId');
  });

  it('reports a YAML syntax error with file, line and column', async () => {
    const file = await yamlFile('record:\n  "*": { read: true\nevent: [\n');
    await assert.rejects(loadRulesFile(file, LIMITS), (error) => {
      assert.ok(error instanceof PermissionsError);
      assert.match(error.problems[0]!, /permissions\.yml:\d+:\d+: YAML syntax error: /);
      return true;
    });
  });

  it('reports a file that cannot be read', async () => {
    await assert.rejects(loadRulesFile('/nonexistent/permissions.yml', LIMITS), /permissions\.yml: cannot be read/);
  });

  it('names the line and rule path of a refused rule', async () => {
    const file = await yamlFile(
      [
        'presence:',
        '  "*": { allow: true }',
        'record:',
        '  "*":',
        '    read: true',
        '  user/$id:',
        '    write: "process.exit(1)"',
        '    read: >',
        '      user.id === $other',
        'event: { "*": { publish: "this.constructor" } }',
        'rpc: { "*": { request: true } }',
      ].join('\n'),
    );
    await assert.rejects(loadRulesFile(file, LIMITS), (error) => {
      assert.ok(error instanceof PermissionsError);
      assert.deepEqual(error.problems, [
        'permissions.yml:7 record "user/$id" write: "process" is not available in rules (at character 1 of "process.exit(1)")',
        'permissions.yml:8 record "user/$id" read: unknown path variable "$other" (this path has $id) (at character 13 of "user.id === $other\\n")',
        'permissions.yml:10 event "*" publish: "this" is not available in rules (at character 1 of "this.constructor")',
      ]);
      assert.match(error.message, /permissions\.yml: 3 problems:/);
      return true;
    });
  });

  it('parses YAML key lines for flow and block mappings', () => {
    const { lineOf } = parseYaml('a:\n  b: { c: 1, d: 2 }\n  e:\n    f: 3\n', 'x.yml');
    assert.equal(lineOf(['a']), 1);
    assert.equal(lineOf(['a', 'b', 'd']), 2);
    assert.equal(lineOf(['a', 'e', 'f']), 4);
    assert.equal(lineOf(['a', 'missing']), 1);
  });

  const structure: Array<[string, unknown, RegExp]> = [
    ['a document that is not a mapping', ['record'], /must be a mapping with the sections record, event, rpc, presence/],
    ['a missing section', { record: ALLOW_ALL.record, event: ALLOW_ALL.event, rpc: ALLOW_ALL.rpc }, /the section "presence" is missing/],
    ['an unknown section', { ...ALLOW_ALL, auth: { '*': { allow: true } } }, /unknown section "auth"/],
    ['an empty section', withSection('rpc', {}), /rpc: must be a non-empty mapping of paths to rules/],
    ['a section without "*"', withSection('event', { chat: { publish: true } }), /event: must contain the root path "\*"/],
    ['a path starting with /', withSection('event', { '*': { publish: true }, '/chat': { publish: true } }), /event "\/chat": a path must not start with "\/"/],
    ['a $ without a name', withSection('event', { '*': { publish: true }, 'chat/$': { publish: true } }), /"\$" must be followed by letters or digits/],
    ['a variable used twice', withSection('event', { '*': { publish: true }, '$a/$a': { publish: true } }), /the variable \$a appears twice/],
    ['a path that is not a valid pattern', withSection('event', { '*': { publish: true }, 'chat(': { publish: true } }), /event "chat\(": not a valid pattern/],
    ['an unknown rule type', withSection('event', { '*': { publish: true, write: true } }), /event "\*" write: unknown rule type "write" for event \(allowed: publish, subscribe, listen\)/],
    ['a path without rules', withSection('event', { '*': { publish: true }, chat: {} }), /event "chat": must be a non-empty mapping of rule types/],
    ['a rule that is a number', withSection('event', { '*': { publish: 1 } }), /a rule must be true, false or an expression string, not number/],
    ['a rule that is null', withSection('event', { '*': { publish: null } }), /not null/],
    ['an empty rule', withSection('event', { '*': { publish: '' } }), /the rule is empty/],
    ['data in a read rule', withSection('record', { '*': { read: 'data.x' } }), /"data" cannot be used in a read rule \(only in write, publish, subscribe, request\)/],
    ['data in a create rule', withSection('record', { '*': { create: 'data.x' } }), /"data" cannot be used in a create rule/],
    ['oldData in a publish rule', withSection('event', { '*': { publish: 'oldData.x' } }), /"oldData" cannot be used in a publish rule \(only in read, write, delete\)/],
    ['oldData in a create rule', withSection('record', { '*': { create: '!oldData' } }), /"oldData" cannot be used in a create rule/],
  ];
  for (const [what, document, reason] of structure) {
    it(`refuses ${what}`, () => {
      const problems = problemsOf(document);
      assert.ok(problems.some((problem) => reason.test(problem)), `${reason} not in ${JSON.stringify(problems)}`);
      for (const problem of problems) assert.match(problem, /^inline permissions/);
    });
  }

  it('lists every problem, not just the first', () => {
    const problems = problemsOf({ record: { x: { read: 'nope' } }, event: {}, rpc: ALLOW_ALL.rpc, extra: 1 });
    assert.equal(problems.length, 5, JSON.stringify(problems));
  });
});

describe('rule selection', () => {
  const rules: RuleSet = compileRules(
    {
      ...ALLOW_ALL,
      record: {
        '*': { read: true, write: 'false' },
        'user/$id': { write: 'user.id === $id' },
        'user/$id/settings': { write: 'true' },
        'user/admin': { write: 'false' },
        'user/*': { delete: 'true' },
        'a.b': { read: 'false' },
        '$x/$y': { read: "'first'" },
        '$a/$b': { read: "'second, same length, later in the file'" },
        'doc/*/$part': { read: '$part' },
      },
      event: { '*': { subscribe: true }, 'news/*': { publish: true } },
    },
    { name: 'test' },
    LIMITS,
  );
  const pick = (section: 'record' | 'event', type: 'read' | 'write' | 'delete' | 'publish' | 'subscribe', name: string) => {
    const selection = rules.select(section, type, name);
    return selection === undefined ? undefined : { path: selection.rule.path, variables: Object.fromEntries(selection.variables) };
  };

  it('takes the longest matching path that defines the rule type', () => {
    assert.deepEqual(pick('record', 'write', 'user/ada'), { path: 'user/$id', variables: { $id: 'ada' } });
    assert.deepEqual(pick('record', 'write', 'user/admin'), { path: 'user/admin', variables: {} });
    assert.deepEqual(pick('record', 'write', 'user/ada/settings'), { path: 'user/$id/settings', variables: { $id: 'ada' } });
    // user/$id does not define delete; the shorter user/* does
    assert.deepEqual(pick('record', 'delete', 'user/ada'), { path: 'user/*', variables: {} });
  });

  it('falls back to "*" and denies when nothing defines the rule type', () => {
    assert.deepEqual(pick('record', 'write', 'other'), { path: '*', variables: {} });
    assert.equal(pick('record', 'delete', 'other'), undefined);
    assert.equal(pick('event', 'publish', 'chat'), undefined);
    assert.deepEqual(pick('event', 'publish', 'news/today/sport'), { path: 'news/*', variables: {} });
  });

  it('matches variables within one segment and * across segments', () => {
    // $id does not match across "/": user/a/b is not user/$id but is user/*… which has no write
    assert.deepEqual(pick('record', 'write', 'user/a/b'), { path: '*', variables: {} });
    assert.deepEqual(pick('record', 'read', 'doc/x/y/z'), { path: 'doc/*/$part', variables: { $part: 'z' } });
  });

  it('on equal length, the later path in the file wins', () => {
    assert.deepEqual(pick('record', 'read', 'p/q'), { path: '$a/$b', variables: { $a: 'p', $b: 'q' } });
  });

  it('does not escape other characters, as the reference does ("." matches any character)', () => {
    assert.deepEqual(pick('record', 'read', 'a.b'), { path: 'a.b', variables: {} });
    assert.deepEqual(pick('record', 'read', 'axb'), { path: 'a.b', variables: {} });
  });

  it('matches whole names only', () => {
    assert.deepEqual(pick('record', 'write', 'xuser/admin'), { path: '*', variables: {} });
    assert.deepEqual(pick('record', 'write', 'user/adminx'), { path: 'user/$id', variables: { $id: 'adminx' } });
  });
});
