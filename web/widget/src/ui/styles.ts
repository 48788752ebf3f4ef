// The widget's stylesheet, scoped by its shadow root. Hosts restyle it only through the
// custom properties below, set on the <switchboard-chat> element (they inherit into the
// shadow tree); nothing else of the page's CSS reaches it.

export const CSS = `
:host{all:initial;--sb-accent:#2563eb;--sb-accent-fg:#fff;--sb-bg:#fff;--sb-fg:#111827;--sb-muted:#6b7280;
--sb-surface:#f3f4f6;--sb-border:#e5e7eb;--sb-danger:#b91c1c;--sb-radius:14px;
--sb-font:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;--sb-z:2147483000}
.root{font-family:var(--sb-font);font-size:15px;line-height:1.45;color:var(--sb-fg);color-scheme:light}
.root[data-theme=dark]{--sb-bg:#111827;--sb-fg:#f3f4f6;--sb-muted:#9ca3af;--sb-surface:#1f2937;--sb-border:#374151;--sb-danger:#fca5a5;color-scheme:dark}
@media (prefers-color-scheme:dark){.root[data-theme=auto]{--sb-bg:#111827;--sb-fg:#f3f4f6;--sb-muted:#9ca3af;--sb-surface:#1f2937;--sb-border:#374151;--sb-danger:#fca5a5;color-scheme:dark}}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
button{font:inherit;color:inherit;cursor:pointer}
button:disabled{cursor:default;opacity:.55}
:focus-visible{outline:3px solid var(--sb-accent);outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
svg{width:22px;height:22px;fill:currentColor}
.launcher{position:fixed;bottom:20px;right:20px;z-index:var(--sb-z);width:56px;height:56px;border-radius:50%;border:0;
background:var(--sb-accent);color:var(--sb-accent-fg);box-shadow:0 6px 20px rgba(0,0,0,.25);display:grid;place-items:center;
transition:transform .15s ease}
.launcher:hover{transform:scale(1.06)}
.root[data-position=left] .launcher{right:auto;left:20px}
.panel{position:fixed;bottom:88px;right:20px;z-index:var(--sb-z);width:380px;height:min(600px,calc(100vh - 108px));
display:flex;flex-direction:column;background:var(--sb-bg);color:var(--sb-fg);border:1px solid var(--sb-border);
border-radius:var(--sb-radius);box-shadow:0 12px 40px rgba(0,0,0,.25);overflow:hidden;animation:sb-in .18s ease-out}
.root[data-position=left] .panel{right:auto;left:20px}
@keyframes sb-in{from{opacity:0;transform:translateY(12px)}to{opacity:1;transform:none}}
header{display:flex;align-items:center;gap:4px;padding:10px 8px 10px 16px;background:var(--sb-accent);color:var(--sb-accent-fg)}
header h2{flex:1;margin:0;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.icon{background:none;border:0;border-radius:8px;width:36px;height:36px;display:grid;place-items:center;color:inherit}
.icon:hover{background:rgba(255,255,255,.18)}
.status{padding:8px 16px;font-size:13px;background:var(--sb-surface);border-bottom:1px solid var(--sb-border);display:flex;gap:8px;align-items:center}
.status:empty{display:none}
.status.fatal{color:var(--sb-danger);font-weight:600}
.link{background:none;border:0;padding:0;color:var(--sb-accent);text-decoration:underline}
.log{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:12px;overscroll-behavior:contain}
.older{align-self:center;background:var(--sb-surface);border:1px solid var(--sb-border);border-radius:999px;padding:4px 12px;font-size:13px}
.msg{display:flex;flex-direction:column;max-width:88%;gap:6px}
.msg.user{align-self:flex-end;align-items:flex-end}
.msg.bot{align-self:flex-start}
.bubble{padding:9px 13px;border-radius:var(--sb-radius);overflow-wrap:anywhere}
.user .bubble{background:var(--sb-accent);color:var(--sb-accent-fg);white-space:pre-wrap;border-bottom-right-radius:4px}
.bot .bubble{background:var(--sb-surface);border-bottom-left-radius:4px}
.bubble>:first-child{margin-top:0}.bubble>:last-child{margin-bottom:0}
.bubble p,.bubble ul,.bubble ol,.bubble pre,.bubble blockquote,.bubble table{margin:0 0 8px}
.bubble h3,.bubble h4,.bubble h5,.bubble h6{margin:8px 0 6px;font-size:15px}
.bubble ul,.bubble ol{padding-left:20px}
.bubble a{color:var(--sb-accent)}
.bubble code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;background:rgba(127,127,127,.15);padding:1px 4px;border-radius:4px}
.bubble pre{overflow-x:auto;background:rgba(127,127,127,.15);padding:8px;border-radius:8px}
.bubble pre code{background:none;padding:0}
.bubble blockquote{border-left:3px solid var(--sb-border);padding-left:10px;color:var(--sb-muted)}
.bubble table{border-collapse:collapse;font-size:13px}.bubble th,.bubble td{border:1px solid var(--sb-border);padding:3px 6px}
.typing::after{content:"";display:inline-block;width:8px;height:8px;margin-left:4px;border-radius:50%;background:var(--sb-muted);animation:sb-pulse 1s infinite}
@keyframes sb-pulse{50%{opacity:.2}}
.note{font-size:13px;color:var(--sb-muted)}
.error{font-size:13px;color:var(--sb-danger);align-self:stretch;text-align:center}
.tool{font-size:12.5px;color:var(--sb-muted)}
.tool summary{cursor:pointer}
.tool pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0;font-size:12px;background:var(--sb-surface);padding:6px;border-radius:6px;max-height:160px;overflow:auto}
.tool.failed{color:var(--sb-danger)}
.card{border:1px solid var(--sb-border);border-radius:var(--sb-radius);padding:10px 12px;background:var(--sb-bg);display:flex;flex-direction:column;gap:8px}
.card h3{margin:0;font-size:14px}
.card p{margin:0}
.card dl{margin:0;font-size:13px;display:grid;grid-template-columns:auto 1fr;gap:2px 8px}
.card dt{color:var(--sb-muted)}.card dd{margin:0;overflow-wrap:anywhere}
.actions{display:flex;gap:8px}
.field{display:flex;flex-direction:column;gap:2px;font-size:13px}.field input{font:inherit;padding:6px 8px;border:1px solid var(--sb-border);border-radius:6px}.ferr{color:var(--sb-danger);font-size:12px}
.chips{border:0;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:6px}.chips legend{font-size:13px;margin-bottom:4px}.chips .ferr{flex-basis:100%}
.chip{border:1px solid var(--sb-accent);border-radius:999px;padding:4px 12px;background:var(--sb-bg);color:inherit}.chip[aria-pressed=true]{background:var(--sb-accent);color:var(--sb-accent-fg)}
.btn{border-radius:8px;padding:6px 14px;border:1px solid var(--sb-border);background:var(--sb-bg)}
.btn.primary{background:var(--sb-accent);border-color:var(--sb-accent);color:var(--sb-accent-fg)}
.sources{font-size:13px}
.sources ol{margin:4px 0 0;padding-left:20px}
.sources a{color:var(--sb-accent)}
.composer{display:flex;gap:8px;align-items:flex-end;padding:10px;border-top:1px solid var(--sb-border)}
textarea{flex:1;resize:none;font:inherit;color:inherit;background:var(--sb-bg);border:1px solid var(--sb-border);border-radius:10px;
padding:9px 11px;max-height:140px;min-height:40px;line-height:1.35}
.send,.stop{width:40px;height:40px;border-radius:10px;border:0;display:grid;place-items:center;background:var(--sb-accent);color:var(--sb-accent-fg)}
.stop{background:var(--sb-fg);color:var(--sb-bg)}
.convs{flex:1;overflow-y:auto;padding:8px 12px}
.convs ul{list-style:none;margin:0;padding:0}
.convs li{display:flex;gap:6px;align-items:center;border-bottom:1px solid var(--sb-border);padding:6px 0}
.convs .open{flex:1;text-align:left;background:none;border:0;padding:6px 4px;border-radius:6px;min-width:0}
.convs .open span{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.convs .open small{color:var(--sb-muted)}
.convs form{display:flex;gap:6px;flex:1}
.convs input{flex:1;font:inherit;color:inherit;background:var(--sb-bg);border:1px solid var(--sb-border);border-radius:6px;padding:4px 8px;min-width:0}
@media (max-width:479px){.root .panel,.root[data-position] .panel{inset:0;width:100%;height:100%;border-radius:0;border:0}.root.open .launcher{display:none}}
@media (prefers-reduced-motion:reduce){*,*::before,*::after{animation:none!important;transition:none!important}}
`;

/** Applies CSS to a shadow root: a constructed sheet (allowed by a strict style-src CSP), else a <style>. */
export function adoptStyles(root: ShadowRoot): void {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement('style');
    style.textContent = CSS;
    root.appendChild(style);
  }
}
