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

const scripts = new Map<string, string>();

/** One fixed asset, named in logs and metrics by its own route. */
function serve(router: Router, route: string, type: string, body: string): void {
  router.get(route, (req: Request, res) => {
    req.custos!.route = route;
    res.set('Cache-Control', 'no-cache').type(type).send(body);
  });
}

/** One page: its HTML at /<name>, its stylesheet and its script module beside it. */
function mountPage(router: Router, name: string): void {
  const dir = path.join(PAGES, name);
  const page = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
  const style = fs.readFileSync(path.join(dir, 'style.css'), 'utf8');
  if (!scripts.has(name)) scripts.set(name, bundle(path.join(dir, 'app.ts')));
  const script = scripts.get(name)!;
  serve(router, `/${name}`, 'html', page);
  serve(router, `/${name}/app.js`, 'application/javascript', script);
  serve(router, `/${name}/style.css`, 'text/css', style);
}

export function webRoutes(): Router {
  const router = Router();
  // What every page shares: typography, header, forms and buttons.
  serve(router, '/web/base.css', 'text/css', fs.readFileSync(path.join(PAGES, 'base.css'), 'utf8'));
  mountPage(router, 'privacy');
  mountPage(router, 'console');
  return router;
}
