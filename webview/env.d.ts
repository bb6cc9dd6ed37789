// esbuild bundles the CSS a webview app imports into dist/webview/<app>.css.
declare module '*.css';
