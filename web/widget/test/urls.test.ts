import { test } from 'node:test';
import assert from 'node:assert/strict';

import { serverOf, socketURL } from '../src/urls';
import { parseAuthContext } from '../src/element';

test('the server is where the script came from, path prefix included', () => {
  assert.equal(serverOf('https://chat.example.com/widget.js'), 'https://chat.example.com');
  assert.equal(serverOf('https://chat.example.com/widget/0123abcd.js?v=1#x'), 'https://chat.example.com');
  assert.equal(serverOf('https://example.com/switchboard/widget.js'), 'https://example.com/switchboard');
  assert.equal(serverOf('not a url'), undefined);
});

test('the socket URL follows the scheme and carries the token', () => {
  assert.equal(socketURL('https://chat.example.com'), 'wss://chat.example.com/ws');
  assert.equal(socketURL('http://127.0.0.1:8787/'), 'ws://127.0.0.1:8787/ws');
  assert.equal(socketURL('https://example.com/sb', 'a.b+c'), 'wss://example.com/sb/ws?token=a.b%2Bc');
});

test('data-auth-context is read as JSON with exactly the signed fields', () => {
  const warn = console.warn;
  console.warn = () => {};
  try {
    assert.deepEqual(parseAuthContext('{"userId":"u-1","signature":"ab12","timestamp":1767225600,"extra":1}'), { userId: 'u-1', signature: 'ab12', timestamp: 1767225600 });
    assert.equal(parseAuthContext('{"userId":"u-1","signature":"ab12","timestamp":"1767225600"}'), undefined);
    assert.equal(parseAuthContext('not json'), undefined);
    assert.equal(parseAuthContext(null), undefined);
  } finally {
    console.warn = warn;
  }
});
