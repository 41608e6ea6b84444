import fs from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { Router, type Request } from 'express';

/**
 * Custos's own web pages, served by the same process (no CDN, no second
 * server). Each page is static HTML, one stylesheet and one script module
 * bundled from TypeScript by esbuild when Custos starts (about 5 KB, no
 * framework), so every asset comes from Custos under the default strict
 * Content-Security-Policy: no inline script, no eval.
 */
const PAGES = path.join(__dirname);

function bundle(entry: string): string {
  const result = buildSync({ entryPoints: [entry], bundle: true, format: 'esm', target: 'es2020', minify: true, write: false, legalComments: 'none' });
  return result.outputFiles[0]!.text;
}

let privacyScript: string | undefined;

export function webRoutes(): Router {
  const router = Router();
  const named = (route: string) => (req: Request) => {
    req.custos!.route = route;
  };
  const page = fs.readFileSync(path.join(PAGES, 'privacy', 'index.html'), 'utf8');
  const style = fs.readFileSync(path.join(PAGES, 'privacy', 'style.css'), 'utf8');
  privacyScript ??= bundle(path.join(PAGES, 'privacy', 'app.ts'));
  const script = privacyScript;
  router.get(['/privacy', '/privacy/'], (req, res) => {
    named('/privacy')(req);
    res.set('Cache-Control', 'no-cache').type('html').send(page);
  });
  router.get('/privacy/app.js', (req, res) => {
    named('/privacy/app.js')(req);
    res.set('Cache-Control', 'no-cache').type('application/javascript').send(script);
  });
  router.get('/privacy/style.css', (req, res) => {
    named('/privacy/style.css')(req);
    res.set('Cache-Control', 'no-cache').type('text/css').send(style);
  });
  return router;
}
