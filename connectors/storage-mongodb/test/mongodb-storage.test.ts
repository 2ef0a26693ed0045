import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectorError, redactUrl } from '@deepstream-ts/core';
import { MongodbStorage } from '../src/mongodb-storage.ts';
import { storageContract } from '../../../test/contracts/storage.ts';

// No MongoDB server can be installed on these machines (not in Debian, and downloaders cannot
// reach the internet): the contract suite runs only against a server named by MONGODB_URL.
const url = process.env.MONGODB_URL;
const skip = url ? false : 'MONGODB_URL is not set: no MongoDB server is available to test against';

describe('mongodb storage', { skip }, () => {
  storageContract('mongodb', async () => {
    const store = new MongodbStorage({ url: url!, database: `ds_test_${process.pid}`, collection: 'records', collectionPerPrefix: false, serverSelectionTimeout: 3000 });
    await store.connect();
    return { store };
  });
});

describe('mongodb storage without a server', () => {
  it('refuses to start with a clear error naming the URL without its password', async () => {
    const store = new MongodbStorage({ url: 'mongodb://app:topsecret@127.0.0.1:1/', database: 'x', collection: 'r', collectionPerPrefix: false, serverSelectionTimeout: 300 });
    await assert.rejects(store.connect(), (error: Error) => {
      assert.ok(error instanceof ConnectorError);
      assert.match(error.message, /mongodb:\/\/app:\*\*\*@127\.0\.0\.1:1\//);
      assert.doesNotMatch(error.message, /topsecret/);
      return true;
    });
    assert.equal(redactUrl('mongodb://u:p@h:1/'), 'mongodb://u:***@h:1/');
  });
});
