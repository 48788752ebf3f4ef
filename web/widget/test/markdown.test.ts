import { before, test } from 'node:test';
import assert from 'node:assert/strict';

import { decodeEntities, loadMarkdown, parseMarkdown, safeHref, type Node } from '../src/markdown';

const BASE = 'https://shop.example.com/help/';

before(loadMarkdown);

/** Every element of a tree, depth first. */
function elements(nodes: Node[]): Exclude<Node, string>[] {
  return nodes.flatMap((n) => (typeof n === 'string' ? [] : [n, ...elements(n.children)]));
}

function text(nodes: Node[]): string {
  return nodes.map((n) => (typeof n === 'string' ? n : text(n.children))).join('');
}

test('raw HTML from the model is text, never an element', () => {
  const tree = parseMarkdown('Look: <img src=x onerror="alert(1)"> and <script>alert(2)</script>\n\n<div onclick=x>block</div>', BASE);
  assert.deepEqual(new Set(elements(tree).map((e) => e.tag)), new Set(['p']));
  assert.match(text(tree), /<img src=x onerror="alert\(1\)">/);
  assert.match(text(tree), /<script>alert\(2\)<\/script>/);
  assert.match(text(tree), /<div onclick=x>block<\/div>/);
});

test('javascript:, data: and disguised links are refused and shown as their text', () => {
  for (const href of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', ' javascript:alert(1)', 'java\tscript:alert(1)', 'data:text/html,<b>x</b>', 'vbscript:x', 'file:///etc/passwd']) {
    const tree = parseMarkdown(`[click me](${href})`, BASE);
    assert.equal(elements(tree).some((e) => e.tag === 'a'), false, href);
    assert.match(text(tree), /click me/, href);
  }
});

test('safe links open in a new tab without opener or referrer; relative ones resolve on the page', () => {
  const tree = parseMarkdown('[docs](https://example.com/docs) and [faq](../faq) and <https://auto.example.com> and mail@example.com', BASE);
  const links = elements(tree).filter((e) => e.tag === 'a');
  assert.deepEqual(links.map((a) => a.attrs?.href), ['https://example.com/docs', 'https://shop.example.com/faq', 'https://auto.example.com/', 'mailto:mail@example.com']);
  for (const a of links) assert.deepEqual([a.attrs?.target, a.attrs?.rel], ['_blank', 'noopener noreferrer']);
});

test('images are never loaded: a safe one becomes a link, an unsafe one its alt text', () => {
  const tree = parseMarkdown('![chart](https://evil.example/pixel?secret=1) ![x](data:image/png;base64,AAAA)', BASE);
  const tags = elements(tree).map((e) => e.tag);
  assert.equal(tags.includes('img' as never), false);
  assert.deepEqual(elements(tree).filter((e) => e.tag === 'a').map((a) => a.attrs?.href), ['https://evil.example/pixel?secret=1']);
  assert.match(text(tree), /chart x/);
});

test('common markdown maps onto the allowed elements', () => {
  const tree = parseMarkdown('# Title\n\n**bold** *em* ~~gone~~ `a<b>`\n\n- [x] done\n- two\n\n3. three\n4. four\n\n> quote\n\n```\ncode <here>\n```\n\n| a | b |\n|:-|-:|\n| 1 | 2 |\n\nline one\nline two', BASE);
  const tags = elements(tree).map((e) => e.tag);
  for (const tag of ['h3', 'strong', 'em', 'del', 'code', 'ul', 'ol', 'li', 'blockquote', 'pre', 'table', 'th', 'td', 'br']) {
    assert.ok(tags.includes(tag as never), tag);
  }
  assert.equal(elements(tree).find((e) => e.tag === 'ol')?.attrs?.start, '3');
  assert.match(text(tree), /☑ done/);
  assert.match(text(tree), /code <here>/);
  assert.equal(elements(tree).find((e) => e.tag === 'th')?.attrs?.align, 'left');
});

test('character references decode; unknown ones stay as typed', () => {
  assert.equal(decodeEntities('AT&amp;T &lt;b&gt; &#233; &#x1F600; &bogus; &#0;'), 'AT&T <b> é 😀 &bogus; &#0;');
  assert.equal(text(parseMarkdown('AT&amp;T', BASE)), 'AT&T');
});

test('safeHref allows http(s), mailto and tel only', () => {
  assert.equal(safeHref('tel:+15551234', BASE), 'tel:+15551234');
  assert.equal(safeHref('HTTPS://EXAMPLE.COM', BASE), 'https://example.com/');
  assert.equal(safeHref('javascript:void(0)', BASE), undefined);
  assert.equal(safeHref('http://[bad', BASE), undefined);
});
