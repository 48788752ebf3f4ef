// Renders the OpenAPI document named by the page's #redoc[data-spec-url] with Redoc, which
// the build puts before this file. Nothing here or in Redoc loads from another origin: the
// spec comes from this server, fonts are the system's, and the one CDN image Redoc shows (its
// sidebar logo) is removed by the build.
const root = document.getElementById('redoc');
const spec = root && root.dataset.specUrl;
if (root && spec) {
  const font = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  window.Redoc.init(
    spec,
    {
      expandResponses: '200,201',
      jsonSampleExpandLevel: 3,
      hideHostname: false,
      nativeScrollbars: true,
      theme: {
        typography: { fontFamily: font, headings: { fontFamily: font } },
        colors: { primary: { main: '#1d4ed8' } },
      },
    },
    root,
    () => root.setAttribute('aria-busy', 'false'),
  );
}
