import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Conversations, MAX_KNOWN, memoryStore } from '../src/protocol/storage';
import { LOCALES, en, pickLocale, translator } from '../src/i18n';

test('remembers conversations most recent first, keeps titles, and forgets the oldest past the cap', () => {
  const c = new Conversations(memoryStore(), 'A1', 'anon');
  c.remember('C1', 't1');
  c.describe('C1', { title: 'First' });
  c.remember('C2', 't2');
  c.remember('C1', 't1b');
  assert.deepEqual(c.list().map((x) => [x.id, x.token, x.title]), [['C1', 't1b', 'First'], ['C2', 't2', undefined]]);
  assert.equal(c.current()?.id, 'C1');
  for (let i = 0; i < MAX_KNOWN + 5; i++) c.remember(`X${i}`, `t${i}`);
  assert.equal(c.list().length, MAX_KNOWN);
  assert.equal(c.get('C1'), undefined);
  c.clearCurrent();
  assert.equal(c.current(), undefined);
});

test('a corrupt entry is treated as empty', () => {
  const store = memoryStore();
  store.setItem('switchboard:v1:A1:anon', '{not json');
  const c = new Conversations(store, 'A1', 'anon');
  assert.deepEqual(c.list(), []);
  c.remember('C1', 't');
  assert.equal(c.current()?.token, 't');
});

// Words French writes exactly as English does.
const SAME_IN_FRENCH = new Set(['title', 'message', 'transcript', 'assistant', 'conversations', 'sources', 'codeLabel']);

test('every locale translates every string, placeholders included', () => {
  assert.ok(LOCALES.length >= 2);
  for (const locale of LOCALES) {
    const t = translator(locale);
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      const s = t(key);
      assert.ok(s.length > 0, `${locale}.${key}`);
      if (locale !== 'en' && !SAME_IN_FRENCH.has(key)) assert.notEqual(s, en[key], `${locale}.${key} is not translated`);
      for (const ph of en[key].match(/\{\w+\}/g) ?? []) assert.ok(s.includes(ph), `${locale}.${key} lacks ${ph}`);
    }
  }
});

test('picks the first supported language', () => {
  assert.equal(pickLocale(['de-DE', 'fr-CA', 'en']), 'fr');
  assert.equal(pickLocale(['es']), 'en');
  assert.equal(translator('fr')('send'), 'Envoyer');
});
