// Every string the widget shows or announces, in one table per locale. A locale is picked
// from data-locale, else the browser's languages, else English; a key missing from a
// locale falls back to English.

export const en = {
  openChat: 'Open chat',
  closeChat: 'Close chat',
  title: 'Chat',
  greeting: 'Hi! How can I help you today?',
  message: 'Message',
  placeholder: 'Type a message…',
  send: 'Send',
  stop: 'Stop',
  transcript: 'Conversation',
  you: 'You',
  assistant: 'Assistant',
  connecting: 'Connecting…',
  reconnecting: 'Connection lost. Reconnecting in {n} s…',
  reconnectingNow: 'Reconnecting…',
  retryNow: 'Retry now',
  thinking: 'Thinking…',
  stopped: 'Stopped.',
  interrupted: 'The connection dropped and this reply was interrupted.',
  freshConversation: 'Your previous conversation could not be reopened, so a new one was started.',
  olderMessages: 'Load older messages',
  loadingOlder: 'Loading older messages…',
  conversations: 'Conversations',
  newConversation: 'New conversation',
  rename: 'Rename',
  renameLabel: 'New title',
  save: 'Save',
  cancel: 'Cancel',
  back: 'Back to chat',
  untitled: 'Untitled conversation',
  noConversations: 'No earlier conversations.',
  current: 'current',
  toolRunning: 'Using {tool}…',
  toolDone: 'Used {tool}',
  toolFailed: '{tool} failed',
  toolDetails: 'Details',
  toolInput: 'Input',
  toolOutput: 'Result',
  approvalTitle: 'Approval needed',
  approvalText: 'The assistant wants to run “{tool}”. Allow it?',
  approve: 'Approve',
  deny: 'Deny',
  approved: 'Approved.',
  denied: 'Denied.',
  approvalGone: 'This request is no longer waiting for a decision.',
  sources: 'Sources',
  opensInNewTab: '(opens in a new tab)',
  identityTitle: 'Your details',
  choicesTitle: 'Choose an answer',
  fieldName: 'Name',
  fieldEmail: 'Email',
  fieldPhone: 'Phone',
  optional: '{label} (optional)',
  sendDetails: 'Send details',
  sendAnswer: 'Send answer',
  noThanks: 'No thanks',
  sent: 'Sent.',
  declined: 'Declined.',
  fieldsNeedAttention: 'Some fields need attention.',
  otpTitle: 'Verification code',
  otpText: 'To continue with “{tool}”, enter the code we send you by email.',
  otpSent: 'We sent a code to {to}.',
  codeLabel: 'Code',
  verify: 'Verify',
  verified: 'Verified.',
  otpWrong: 'That code is not correct. {n} attempts left.',
  otpTooMany: 'Too many incorrect codes. Verification failed.',
  otpExpired: 'This code has expired.',
  otpNone: 'No verification is in progress.',
  // Errors, by protocol code (PROTOCOL §6, PROTOCOL-1.1 §6).
  err_LLM_UNAVAILABLE: 'The assistant is not available right now. Please try again later.',
  err_QUOTA_EXCEEDED: 'The assistant has reached its usage limit for now. Please try again later.',
  err_RATE_LIMITED: 'Too many messages. Please retry in {n} s.',
  err_TURN_IN_PROGRESS: 'Please wait for the current reply to finish.',
  err_AGENT_ERROR: 'Something went wrong while answering. Please try again.',
  err_ORIGIN_NOT_ALLOWED: 'This chat is not enabled on this website.',
  err_AGENT_NOT_FOUND: 'This chat is not available.',
  err_AGENT_NOT_AUTHORIZED: 'This chat is not enabled on this website.',
  err_AUTH_CONTEXT_INVALID: 'This chat could not confirm who you are. Reload the page and try again.',
  err_SERVER_SHUTTING_DOWN: 'The service is restarting. Please try again in a moment.',
  err_STORAGE_ERROR: 'The service is having trouble right now. Please try again.',
  err_NO_PENDING_CONFIRMATION: 'This request is no longer waiting for a decision.',
  err_NO_PENDING_INTERACTION: 'This question is no longer waiting for an answer.',
  err_DISCONNECTED: 'You are offline. Your message was not sent.',
  err_default: 'Something went wrong. Please try again.',
};

export type Strings = typeof en;
export type StringKey = keyof Strings;

const fr: Partial<Strings> = {
  openChat: 'Ouvrir le chat',
  closeChat: 'Fermer le chat',
  title: 'Chat',
  greeting: 'Bonjour ! Comment puis-je vous aider ?',
  message: 'Message',
  placeholder: 'Écrivez un message…',
  send: 'Envoyer',
  stop: 'Arrêter',
  transcript: 'Conversation',
  you: 'Vous',
  assistant: 'Assistant',
  connecting: 'Connexion…',
  reconnecting: 'Connexion perdue. Nouvelle tentative dans {n} s…',
  reconnectingNow: 'Reconnexion…',
  retryNow: 'Réessayer',
  thinking: 'Réflexion…',
  stopped: 'Arrêté.',
  interrupted: 'La connexion a été coupée et cette réponse a été interrompue.',
  freshConversation: 'Votre conversation précédente n’a pas pu être rouverte ; une nouvelle a commencé.',
  olderMessages: 'Afficher les messages précédents',
  loadingOlder: 'Chargement des messages précédents…',
  conversations: 'Conversations',
  newConversation: 'Nouvelle conversation',
  rename: 'Renommer',
  renameLabel: 'Nouveau titre',
  save: 'Enregistrer',
  cancel: 'Annuler',
  back: 'Retour au chat',
  untitled: 'Conversation sans titre',
  noConversations: 'Aucune conversation précédente.',
  current: 'en cours',
  toolRunning: 'Utilisation de {tool}…',
  toolDone: '{tool} utilisé',
  toolFailed: 'Échec de {tool}',
  toolDetails: 'Détails',
  toolInput: 'Entrée',
  toolOutput: 'Résultat',
  approvalTitle: 'Autorisation requise',
  approvalText: 'L’assistant souhaite exécuter « {tool} ». L’autoriser ?',
  approve: 'Autoriser',
  deny: 'Refuser',
  approved: 'Autorisé.',
  denied: 'Refusé.',
  approvalGone: 'Cette demande n’attend plus de décision.',
  sources: 'Sources',
  opensInNewTab: '(s’ouvre dans un nouvel onglet)',
  identityTitle: 'Vos coordonnées',
  choicesTitle: 'Choisissez une réponse',
  fieldName: 'Nom',
  fieldEmail: 'E-mail',
  fieldPhone: 'Téléphone',
  optional: '{label} (facultatif)',
  sendDetails: 'Envoyer',
  sendAnswer: 'Envoyer la réponse',
  noThanks: 'Non merci',
  sent: 'Envoyé.',
  declined: 'Refusé.',
  fieldsNeedAttention: 'Certains champs sont à corriger.',
  otpTitle: 'Code de vérification',
  otpText: 'Pour continuer avec « {tool} », saisissez le code que nous vous envoyons par e-mail.',
  otpSent: 'Nous avons envoyé un code à {to}.',
  codeLabel: 'Code',
  verify: 'Vérifier',
  verified: 'Vérifié.',
  otpWrong: 'Ce code est incorrect. Tentatives restantes : {n}.',
  otpTooMany: 'Trop de codes incorrects. La vérification a échoué.',
  otpExpired: 'Ce code a expiré.',
  otpNone: 'Aucune vérification n’est en cours.',
  err_LLM_UNAVAILABLE: 'L’assistant n’est pas disponible pour le moment. Réessayez plus tard.',
  err_QUOTA_EXCEEDED: 'L’assistant a atteint sa limite d’utilisation. Réessayez plus tard.',
  err_RATE_LIMITED: 'Trop de messages. Réessayez dans {n} s.',
  err_TURN_IN_PROGRESS: 'Attendez la fin de la réponse en cours.',
  err_AGENT_ERROR: 'Une erreur est survenue pendant la réponse. Réessayez.',
  err_ORIGIN_NOT_ALLOWED: 'Ce chat n’est pas activé sur ce site.',
  err_AGENT_NOT_FOUND: 'Ce chat n’est pas disponible.',
  err_AGENT_NOT_AUTHORIZED: 'Ce chat n’est pas activé sur ce site.',
  err_AUTH_CONTEXT_INVALID: 'Ce chat n’a pas pu vérifier votre identité. Rechargez la page et réessayez.',
  err_SERVER_SHUTTING_DOWN: 'Le service redémarre. Réessayez dans un instant.',
  err_STORAGE_ERROR: 'Le service rencontre un problème. Réessayez.',
  err_NO_PENDING_CONFIRMATION: 'Cette demande n’attend plus de décision.',
  err_NO_PENDING_INTERACTION: 'Cette question n’attend plus de réponse.',
  err_DISCONNECTED: 'Vous êtes hors ligne. Votre message n’a pas été envoyé.',
  err_default: 'Une erreur est survenue. Réessayez.',
};

const locales: Record<string, Partial<Strings>> = { en, fr };

/** The locales the widget ships. */
export const LOCALES = Object.keys(locales);

/** Picks the first supported locale among the wanted ones ("fr-CA" matches "fr"). */
export function pickLocale(wanted: readonly string[]): string {
  for (const w of wanted) {
    const base = w.toLowerCase().split('-')[0] ?? '';
    if (base in locales) return base;
  }
  return 'en';
}

export type Translate = (key: StringKey, vars?: Record<string, string | number>) => string;

/** A translator for locale, with `{name}` placeholders filled from vars. */
export function translator(locale: string, overrides: Partial<Strings> = {}): Translate {
  const table: Strings = { ...en, ...(locales[locale] ?? {}), ...overrides };
  return (key, vars) => {
    let s = table[key] ?? en[key];
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
    return s;
  };
}

/** The plain-words message for a protocol error code; `{n}` is the retry time in seconds. */
export function errorText(t: Translate, code: string, retryAfterMs?: number): string {
  const key = ('err_' + code) as StringKey;
  if (!(key in en)) return t('err_default');
  return t(key, { n: Math.max(1, Math.ceil((retryAfterMs ?? 1000) / 1000)) });
}
