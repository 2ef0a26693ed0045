/**
 * Citations like `PROTOCOL §6.3` or `RECORDS §11, §13` in code comments and READMEs must name a
 * section heading of the matching file in docs/ (docs/README.md explains the convention). A bare
 * `§n` with no file name cannot be followed and fails too; `RFC 6455 §5.2` and the like are left
 * alone.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** This file holds sample citations of its own, bare ones included. */
const self = fileURLToPath(import.meta.url);
const docsDir = join(root, 'docs');
const DOCS = ['PROTOCOL', 'RECORDS', 'SECURITY', 'EVENTS_RPC_PRESENCE', 'HTTP_AND_CONFIG'] as const;
const SKIP_DIRS = new Set(['node_modules', '.git', 'docs', 'data', 'dist']);

/** Section numbers of a docs file: every heading that starts with one (`## 6. …`, `### 6.3 …`). */
function sectionsOf(doc: string): Set<string> {
  const text = readFileSync(join(docsDir, `${doc}.md`), 'utf8');
  const sections = new Set<string>();
  for (const match of text.matchAll(/^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s/gm)) sections.add(match[1]!);
  return sections;
}

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.')) filesUnder(join(dir, entry.name), out);
    } else if ((entry.name.endsWith('.ts') || entry.name.endsWith('.md')) && join(dir, entry.name) !== self) {
      out.push(join(dir, entry.name));
    }
  }
  return out;
}

interface Citation {
  /** The docs file, or undefined for a bare `§n` nothing attributes. */
  doc: string | undefined;
  section: string;
  /** Where, for the failure message. */
  where: string;
}

// NAME (optionally `.md`) then §n; or a § continuing the previous citation; a range's end may lack §.
const CITATION = new RegExp(`(?:\\b(${DOCS.join('|')})(?:\\.md)?\\s*)?§\\s?(\\d+(?:\\.\\d+)*)(?:\\s*[-–]\\s*§?(\\d+(?:\\.\\d+)*))?`, 'g');
/** What may stand between two sections of one citation: `PROTOCOL §1, §6`, `§7.4 and §7.5`. */
const CONTINUATION = /^\s*(?:,|\/|and|or|,\s*and)?\s*$/;
/** External numbered documents whose sections we do not hold. */
const EXTERNAL = /\b(?:RFC|ECMA-?|ISO)\s*\d+\s*$/i;

/** Every citation in `text`; `defaultDoc` attributes bare ones (a docs file citing itself). */
function citationsIn(text: string, file: string, defaultDoc?: string): Citation[] {
  const found: Citation[] = [];
  let previous: { doc: string | undefined; end: number } | undefined;
  for (const match of text.matchAll(CITATION)) {
    const start = match.index!;
    const line = text.slice(0, start).split('\n').length;
    const where = `${file}:${line}: "${match[0].trim()}"`;
    let doc: string | undefined = match[1];
    if (doc === undefined) {
      const between = previous === undefined ? undefined : text.slice(previous.end, start);
      if (between !== undefined && CONTINUATION.test(between)) doc = previous!.doc;
      else if (EXTERNAL.test(text.slice(Math.max(0, start - 20), start))) {
        previous = undefined;
        continue;
      } else doc = defaultDoc;
    }
    for (const section of [match[2]!, match[3]].filter((s): s is string => s !== undefined)) found.push({ doc, section, where });
    previous = { doc, end: start + match[0].length };
  }
  return found;
}

const sections = new Map(DOCS.map((doc) => [doc as string, sectionsOf(doc)]));

function unresolved(citations: Citation[]): string[] {
  return citations
    .filter(({ doc, section }) => doc === undefined || !sections.get(doc)!.has(section))
    .map(({ doc, section, where }) => (doc === undefined ? `${where}: §${section} names no docs file (put the file in front: ${DOCS.join(" | ")} §${section})` : `${where}: docs/${doc}.md has no section ${section}`));
}

describe('references to docs/ resolve', () => {
  it('every docs file exists and has numbered sections', () => {
    for (const doc of DOCS) assert.ok(sections.get(doc)!.size > 0, `docs/${doc}.md has no numbered headings`);
  });

  it('the parser understands the citation forms in use', () => {
    const got = citationsIn('(PROTOCOL §1, §6) RECORDS §11, §13; EVENTS_RPC_PRESENCE §2.2–2.5 HTTP_AND_CONFIG §1-2 RFC 6455 §5.2 and §9', 'x');
    assert.deepEqual(
      got.map(({ doc, section }) => `${doc} ${section}`),
      ['PROTOCOL 1', 'PROTOCOL 6', 'RECORDS 11', 'RECORDS 13', 'EVENTS_RPC_PRESENCE 2.2', 'EVENTS_RPC_PRESENCE 2.5', 'HTTP_AND_CONFIG 1', 'HTTP_AND_CONFIG 2', 'undefined 9'],
    );
    assert.deepEqual(citationsIn('the end of PROTOCOL §5.4.', 'x').map((c) => c.section), ['5.4']);
  });

  it('every citation in code and READMEs names an existing section', () => {
    const citations = filesUnder(root).flatMap((path) => citationsIn(readFileSync(path, 'utf8'), relative(root, path)));
    assert.ok(citations.length > 100, `only ${citations.length} citations found: is the scan looking in the right place?`);
    const problems = unresolved(citations);
    assert.deepEqual(problems, [], `${problems.length} citation(s) do not resolve:\n${problems.join('\n')}`);
  });

  it('cross-references inside docs/ resolve too', () => {
    const citations = readdirSync(docsDir)
      .filter((name) => name.endsWith('.md'))
      .flatMap((name) => citationsIn(readFileSync(join(docsDir, name), 'utf8'), `docs/${name}`, DOCS.find((doc) => `${doc}.md` === name)));
    const problems = unresolved(citations);
    assert.deepEqual(problems, [], `${problems.length} citation(s) do not resolve:\n${problems.join('\n')}`);
  });
});
