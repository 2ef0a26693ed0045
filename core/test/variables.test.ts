import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MissingVariableError, substituteVariables, variablesIn } from '@deepstream-ts/core';

describe('${NAME} in config text', () => {
  const env = { HOST: 'db.local', PORT: '5432', EMPTY: '' };

  it('replaces variables in the text, so that a number stays a number once parsed', () => {
    assert.equal(substituteVariables('host: ${HOST}\nport: ${PORT}\n', { env }), 'host: db.local\nport: 5432\n');
    assert.equal(substituteVariables('a: "${EMPTY}"', { env }), 'a: ""');
  });

  it('refuses an unset variable by default, naming it; a custom policy may replace it', () => {
    assert.throws(() => substituteVariables('url: ${NOPE}', { env }), (error: unknown) => error instanceof MissingVariableError && error.variable === 'NOPE' && /NOPE is not set/.test(error.message));
    assert.equal(substituteVariables('url: "${NOPE}"', { env, missing: () => '' }), 'url: ""');
  });

  it('leaves comment lines alone: a commented-out setting refers to nothing', () => {
    const text = '# host: ${UNSET_HOST}\n  # port: ${UNSET_PORT}\nhost: ${HOST}';
    assert.equal(substituteVariables(text, { env }), '# host: ${UNSET_HOST}\n  # port: ${UNSET_PORT}\nhost: db.local');
    assert.deepEqual(variablesIn(text), ['HOST']);
  });
});
