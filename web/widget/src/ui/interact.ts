// The rich interactions of PROTOCOL-1.1: the identity form and the choice chips of an
// `interaction_required` (§5.12), answered by `submit_interaction` (§4.12), and the
// one-time-code entry of `otp_verification_required` / `otp_sent` (§5.14, §5.15), answered
// by `verify_otp` (§4.13). Field errors (`interaction_invalid`, `otp_invalid`) are attached
// to their field with aria-describedby and announced by a live region.

import type { StringKey } from '../i18n';
import { inner, type WireEvent } from '../protocol/types';
import { h, replace } from './dom';
import { registerTurnRenderer, type Card, type TurnView } from './turn';

let ids = 0;
const nextId = () => `sb-f${++ids}`;

interface FieldError {
  field: string;
  message: string;
}

/** A labelled input with its error line. */
function field(label: string, attrs: Record<string, string | boolean | undefined>) {
  const id = nextId();
  const input = h('input', { id, ...attrs });
  const err = h('span', { id: id + 'e', class: 'ferr' });
  return { input, err, el: h('div', { class: 'field' }, h('label', { for: id }, label), input, err) };
}

function setError(input: HTMLElement, err: HTMLElement, text: string): void {
  err.textContent = text;
  if (text) {
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', err.id);
  } else {
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
  }
}

/** The card frame: a named group with a title, the reason, the body, the actions, a live line. */
function frame(turn: TurnView, tool: string, title: string, text: string, body: HTMLElement[], buttons: HTMLButtonElement[]) {
  const headId = nextId();
  const actions = h('div', { class: 'actions' }, ...buttons);
  const live = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card', 'aria-labelledby': headId, novalidate: true }, h('h3', { id: headId }, title), text && h('p', {}, text), ...body, live, actions);
  const card: Card = { tool, el: form, actions, decided: false };
  turn.addCard(card);
  return { form, actions, live, card };
}

const button = (label: string, primary = false, type = 'button') => h('button', { class: primary ? 'btn primary' : 'btn', type }, label);

interface Interaction {
  interactionId: string;
  kind: string;
  spec?: any;
  reason?: string;
}

function interaction(turn: TurnView, ev: WireEvent): void {
  const it = inner<Interaction>(ev);
  if (!it || typeof it.interactionId !== 'string') return;
  if (it.kind === 'identity_intake') identityForm(turn, it);
  else if (it.kind === 'choices') choices(turn, it);
}

/** Sends the answer; shows field errors on interaction_invalid, closes the card on the ack. */
function answer(turn: TurnView, it: Interaction, f: ReturnType<typeof frame>, values: unknown, declined: boolean, show: (errs: FieldError[]) => void): void {
  const { t } = turn.ctx;
  const buttons = [...f.form.querySelectorAll('button')];
  buttons.forEach((b) => (b.disabled = true));
  const payload: { interactionId: string; kind: string; values?: unknown; declined?: boolean } = { interactionId: it.interactionId, kind: it.kind };
  if (declined) payload.declined = true;
  else payload.values = values;
  turn.ctx
    .submitInteraction(payload)
    .then((ev) => {
      if (ev.type === 'interaction_invalid') {
        buttons.forEach((b) => (b.disabled = false));
        const errs = inner<{ errors?: FieldError[] }>(ev)?.errors;
        show(Array.isArray(errs) ? errs : []);
        f.live.textContent = t('fieldsNeedAttention');
        return;
      }
      f.card.decided = true;
      f.live.textContent = '';
      f.form.querySelectorAll('input').forEach((i) => (i.disabled = true));
      replace(f.actions, h('p', { class: 'note' }, t(declined ? 'declined' : 'sent')));
    })
    .catch((err: unknown) => {
      buttons.forEach((b) => (b.disabled = false));
      f.live.textContent = turn.failure(err);
    });
}

const KEYS: Record<string, { label: StringKey; type: string; auto: string }> = {
  name: { label: 'fieldName', type: 'text', auto: 'name' },
  email: { label: 'fieldEmail', type: 'email', auto: 'email' },
  phone: { label: 'fieldPhone', type: 'tel', auto: 'tel' },
};

function identityForm(turn: TurnView, it: Interaction): void {
  const { t } = turn.ctx;
  const specFields: { key: string; required?: boolean; label?: string }[] = Array.isArray(it.spec?.fields) ? it.spec.fields : [];
  const fields = specFields
    .filter((x) => x && KEYS[x.key])
    .map((x) => {
      const k = KEYS[x.key]!;
      const label = (typeof x.label === 'string' && x.label) || t(k.label);
      const required = x.required !== false;
      return { key: x.key, ...field(required ? label : t('optional', { label }), { type: k.type, name: x.key, autocomplete: k.auto, required, 'aria-required': required ? 'true' : undefined }) };
    });
  const send = button(t('sendDetails'), true, 'submit');
  const decline = button(t('noThanks'));
  const f = frame(turn, 'request_identity_intake', t('identityTitle'), it.reason ?? '', fields.map((x) => x.el), [send, decline]);
  const show = (errs: FieldError[]) => {
    let first: HTMLInputElement | undefined;
    for (const x of fields) {
      const e = errs.filter((er) => er.field === x.key).map((er) => er.message).join(' ');
      setError(x.input, x.err, e);
      if (e && !first) first = x.input;
    }
    first?.focus();
  };
  f.form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (f.card.decided) return;
    const values: Record<string, string> = {};
    for (const x of fields) if (x.input.value.trim()) values[x.key] = x.input.value;
    answer(turn, it, f, values, false, show);
  });
  decline.addEventListener('click', () => answer(turn, it, f, undefined, true, show));
}

interface Question {
  question: string;
  header: string;
  options: { label: string; description?: string }[];
  multiSelect?: boolean;
}

function choices(turn: TurnView, it: Interaction): void {
  const { t } = turn.ctx;
  const questions: Question[] = Array.isArray(it.spec?.questions) ? it.spec.questions.filter((q: Question) => q && typeof q.header === 'string' && Array.isArray(q.options)) : [];
  const picked = questions.map(() => new Set<string>());
  const errs: HTMLElement[] = [];
  const sets = questions.map((q, i) => {
    const err = h('span', { id: nextId(), class: 'ferr' });
    errs.push(err);
    const chips = q.options.map((o) => {
      const chip = h('button', { class: 'chip', type: 'button', 'aria-pressed': 'false', title: o.description || undefined }, o.label);
      chip.addEventListener('click', () => {
        const set = picked[i]!;
        if (set.has(o.label)) set.delete(o.label);
        else {
          if (!q.multiSelect) set.clear();
          set.add(o.label);
        }
        for (const c of chips) c.setAttribute('aria-pressed', String(set.has(c.textContent ?? '')));
      });
      return chip;
    });
    return h('fieldset', { class: 'chips' }, h('legend', {}, q.question || q.header), ...chips, err);
  });
  const send = button(t('sendAnswer'), true, 'submit');
  const decline = button(t('noThanks'));
  const f = frame(turn, 'request_choices', t('choicesTitle'), it.reason ?? '', sets, [send, decline]);
  const show = (list: FieldError[]) => {
    questions.forEach((q, i) => setError(sets[i]!, errs[i]!, list.filter((e) => e.field === q.header).map((e) => e.message).join(' ')));
  };
  f.form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (f.card.decided) return;
    const answers = questions.map((q, i) => ({ header: q.header, options: [...picked[i]!] }));
    answer(turn, it, f, { answers }, false, show);
  });
  decline.addEventListener('click', () => answer(turn, it, f, undefined, true, show));
}

/** The code entry of the running turn, kept so that `otp_sent` can say where the code went. */
const otpCards = new WeakMap<TurnView, HTMLElement>();

function otpRequired(turn: TurnView, ev: WireEvent): void {
  const d = inner<{ toolId?: string }>(ev);
  if (!d || typeof d.toolId !== 'string') return;
  const { t } = turn.ctx;
  const code = field(t('codeLabel'), { type: 'text', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '32', required: true, 'aria-required': 'true' });
  const sentTo = h('p', { class: 'note', role: 'status' });
  const verify = button(t('verify'), true, 'submit');
  const f = frame(turn, d.toolId, t('otpTitle'), t('otpText', { tool: d.toolId }), [sentTo, code.el], [verify]);
  otpCards.set(turn, sentTo);
  f.form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = code.input.value.trim();
    if (f.card.decided || !value) return;
    verify.disabled = true;
    turn.ctx
      .verifyOtp(value)
      .then((res) => {
        const r = inner<{ error?: string; attemptsRemaining?: number }>(res) ?? {};
        if (res.type === 'otp_verified') {
          f.card.decided = true;
          code.input.disabled = true;
          setError(code.input, code.err, '');
          f.live.textContent = '';
          replace(f.actions, h('p', { class: 'note' }, t('verified')));
          return;
        }
        const again = r.error === 'INVALID_CODE';
        const text = again ? t('otpWrong', { n: r.attemptsRemaining ?? 0 }) : t(r.error === 'MAX_ATTEMPTS' ? 'otpTooMany' : r.error === 'EXPIRED' ? 'otpExpired' : 'otpNone');
        setError(code.input, code.err, text);
        f.live.textContent = text;
        if (again) {
          verify.disabled = false;
          code.input.select();
          code.input.focus();
        } else {
          f.card.decided = true;
          code.input.disabled = true;
        }
      })
      .catch((err: unknown) => {
        verify.disabled = false;
        f.live.textContent = turn.failure(err);
      });
  });
}

function otpSent(turn: TurnView, ev: WireEvent): void {
  const d = inner<{ maskedDestination?: string }>(ev);
  const el = otpCards.get(turn);
  if (el && typeof d?.maskedDestination === 'string') el.textContent = turn.ctx.t('otpSent', { to: d.maskedDestination });
}

registerTurnRenderer('interaction_required', interaction);
registerTurnRenderer('otp_verification_required', otpRequired);
registerTurnRenderer('otp_sent', otpSent);
