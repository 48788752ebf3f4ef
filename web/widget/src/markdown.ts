// Markdown for untrusted model output, without HTML: marked's lexer turns the text into
// tokens, and this module maps them onto a small tree of allow-listed elements whose text is
// only ever set as text. Raw HTML in the output is shown as the characters it is made of,
// links must be http(s), mailto or tel (javascript: and data: URLs are refused and shown as
// plain text), and images become links: the widget never loads a URL the model chose, which
// would let a prompt injection exfiltrate the conversation through an image request.
//
// The tree is plain data so that the sanitizing rules are unit-tested without a DOM; the UI
// turns it into elements with createElement and textContent only.

import type { Token, Tokens } from 'marked';

// marked is evaluated on first use, not when the page loads the widget: the launcher must be
// interactive at once (bench/widget), and a visitor who never opens the chat never needs it.
// The bundle holds it, so loading takes one microtask.
let lexer: ((src: string, options: object) => Token[]) | undefined;

/** Evaluates marked; the UI awaits it before it shows any reply. */
export async function loadMarkdown(): Promise<void> {
  if (!lexer) lexer = (await import('marked')).Lexer.lex;
}

export type Tag =
  | 'p' | 'h3' | 'h4' | 'h5' | 'h6' | 'strong' | 'em' | 'del' | 'code' | 'pre' | 'blockquote'
  | 'ul' | 'ol' | 'li' | 'a' | 'hr' | 'br' | 'table' | 'thead' | 'tbody' | 'tr' | 'th' | 'td';

export interface Element {
  tag: Tag;
  attrs?: Record<string, string>;
  children: Node[];
}

export type Node = string | Element;

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:', 'tel:']);

/**
 * The absolute URL for href when it is safe to link to, else undefined. Parsing with URL
 * first defeats the usual disguises ("JaVaScRiPt:", "java\tscript:", leading spaces, entity
 * tricks are not decoded at all).
 */
export function safeHref(href: string, base: string): string | undefined {
  let u: URL;
  try {
    u = new URL(href.trim(), base);
  } catch {
    return undefined;
  }
  return SAFE_PROTOCOLS.has(u.protocol) ? u.href : undefined;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Decodes the character references a model commonly writes; anything else stays as typed. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,6});/g, (m, ref: string) => {
    if (ref[0] === '#') {
      const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[ref.toLowerCase()] ?? m;
  });
}

const el = (tag: Tag, children: Node[], attrs?: Record<string, string>): Element =>
  attrs ? { tag, attrs, children } : { tag, children };

/** Parses markdown into the safe tree; base resolves relative links (the host page's URL). */
export function parseMarkdown(src: string, base: string): Node[] {
  let tokens: Token[];
  try {
    if (!lexer) throw new Error('markdown is not loaded yet');
    tokens = lexer(src, { gfm: true, breaks: true });
  } catch {
    // Not loaded (or a lexer failure): the text as it is, which is always safe.
    return [el('p', [src])];
  }
  return blocks(tokens, base);
}

function blocks(tokens: Token[], base: string): Node[] {
  const out: Node[] = [];
  for (const t of tokens) {
    const n = block(t, base);
    if (n !== undefined) out.push(n);
  }
  return out;
}

function block(t: Token, base: string): Node | undefined {
  switch (t.type) {
    case 'space':
    case 'def':
      return undefined;
    case 'paragraph':
      return el('p', inline((t as Tokens.Paragraph).tokens, base));
    case 'heading': {
      const h = t as Tokens.Heading;
      // Headings inside a chat bubble sit below the widget's own title.
      const tag = (['h3', 'h4', 'h5', 'h6'] as const)[Math.min(3, Math.max(0, h.depth - 1))] ?? 'h6';
      return el(tag, inline(h.tokens, base));
    }
    case 'code':
      return el('pre', [el('code', [(t as Tokens.Code).text])]);
    case 'blockquote':
      return el('blockquote', blocks((t as Tokens.Blockquote).tokens, base));
    case 'hr':
      return el('hr', []);
    case 'list': {
      const l = t as Tokens.List;
      const items = l.items.map((it) => el('li', listItem(it, base)));
      const start = typeof l.start === 'number' && l.start !== 1 ? { start: String(l.start) } : undefined;
      return l.ordered ? el('ol', items, start) : el('ul', items);
    }
    case 'table': {
      const tb = t as Tokens.Table;
      const cell = (c: Tokens.TableCell, tag: 'th' | 'td') => el(tag, inline(c.tokens, base), c.align ? { align: c.align } : undefined);
      return el('table', [
        el('thead', [el('tr', tb.header.map((c) => cell(c, 'th')))]),
        el('tbody', tb.rows.map((r) => el('tr', r.map((c) => cell(c, 'td'))))),
      ]);
    }
    case 'html':
      // Raw HTML is text: shown, never parsed.
      return el('p', [(t as Tokens.HTML).text]);
    case 'text': {
      const tx = t as Tokens.Text;
      return el('p', tx.tokens ? inline(tx.tokens, base) : [decodeEntities(tx.text)]);
    }
    default:
      return 'raw' in t && typeof t.raw === 'string' && t.raw.trim() ? el('p', [t.raw]) : undefined;
  }
}

function listItem(it: Tokens.ListItem, base: string): Node[] {
  const out: Node[] = [];
  for (const t of it.tokens) {
    if (t.type === 'checkbox') {
      out.push((t as Tokens.Checkbox).checked ? '☑ ' : '☐ ');
    } else if (t.type === 'text' && !it.loose) {
      // A tight item's text is inline content, not a paragraph.
      const tx = t as Tokens.Text;
      out.push(...(tx.tokens ? inline(tx.tokens, base) : [decodeEntities(tx.text)]));
    } else {
      const n = block(t, base);
      if (n !== undefined) out.push(n);
    }
  }
  return out;
}

function inline(tokens: Token[] | undefined, base: string): Node[] {
  const out: Node[] = [];
  for (const t of tokens ?? []) {
    switch (t.type) {
      case 'text': {
        const tx = t as Tokens.Text;
        out.push(...(tx.tokens ? inline(tx.tokens, base) : [decodeEntities(tx.text)]));
        break;
      }
      case 'escape':
        out.push((t as Tokens.Escape).text);
        break;
      case 'strong':
        out.push(el('strong', inline((t as Tokens.Strong).tokens, base)));
        break;
      case 'em':
        out.push(el('em', inline((t as Tokens.Em).tokens, base)));
        break;
      case 'del':
        out.push(el('del', inline((t as Tokens.Del).tokens, base)));
        break;
      case 'codespan':
        out.push(el('code', [(t as Tokens.Codespan).text]));
        break;
      case 'br':
        out.push(el('br', []));
        break;
      case 'link': {
        const l = t as Tokens.Link;
        const children = inline(l.tokens, base);
        const href = safeHref(l.href, base);
        out.push(...(href ? [link(href, children)] : children));
        break;
      }
      case 'image': {
        const im = t as Tokens.Image;
        const label = decodeEntities(im.text || im.href);
        const href = safeHref(im.href, base);
        out.push(href ? link(href, [label]) : label);
        break;
      }
      case 'html':
        out.push((t as Tokens.Tag).text);
        break;
      default:
        if ('raw' in t && typeof t.raw === 'string') out.push(t.raw);
    }
  }
  return out;
}

function link(href: string, children: Node[]): Element {
  return el('a', children, { href, target: '_blank', rel: 'noopener noreferrer' });
}
