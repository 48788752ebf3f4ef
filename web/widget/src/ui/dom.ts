// Element construction without HTML strings: every piece of text reaches the DOM through
// text nodes, every attribute through setAttribute, so nothing the model or the visitor
// writes is ever parsed as markup.

import type { Node as MdNode } from '../markdown';

type Child = Node | string | false | null | undefined;

/** Creates an element with attributes (false/undefined skip, true sets ""), handlers and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined | ((e: any) => void)> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else if (typeof v === 'string') e.setAttribute(k, v);
  }
  append(e, ...children);
  return e;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === false || c === null || c === undefined) continue;
    parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** Replaces an element's content with the given children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** Builds the DOM of a sanitized markdown tree (../markdown). */
export function renderMarkdown(nodes: MdNode[]): DocumentFragment {
  const frag = document.createDocumentFragment();
  for (const n of nodes) {
    if (typeof n === 'string') {
      frag.appendChild(document.createTextNode(n));
      continue;
    }
    const e = document.createElement(n.tag);
    for (const [k, v] of Object.entries(n.attrs ?? {})) e.setAttribute(k, v);
    e.appendChild(renderMarkdown(n.children));
    frag.appendChild(e);
  }
  return frag;
}

/** An inline SVG icon from a path; decorative, hidden from assistive technology. */
export function icon(d: string): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  svg.appendChild(path);
  return svg;
}

export const ICONS = {
  chat: 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z',
  close: 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z',
  send: 'M3 20.5 21 12 3 3.5v6.6l12 1.9-12 1.9z',
  stop: 'M7 7h10v10H7z',
  list: 'M4 6h16v2H4zm0 5h16v2H4zm0 5h16v2H4z',
  plus: 'M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z',
};
