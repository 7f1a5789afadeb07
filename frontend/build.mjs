// Bundle our JS and CSS (with Bootstrap, bootstrap-icons, htmx and Alpine from npm) into
// xietong/static/dist. Nothing is loaded from a CDN: intranets have no internet. The rich-text
// editor (Tiptap) is a bundle of its own, loaded only by the pages that edit rich text.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const options = {
  entryPoints: {
    app: 'src/app.js',
    'app-style': 'src/app.css',
    editor: 'src/editor.js',
    'workflow-form': 'src/workflow-form.js',
  },
  bundle: true,
  minify: !watch,
  sourcemap: true,
  target: ['chrome100', 'firefox100', 'safari15'],
  outdir: '../xietong/static/dist',
  loader: { '.woff': 'file', '.woff2': 'file' },
  assetNames: 'fonts/[name]-[hash]',
  logLevel: 'info',
};

options.entryPoints['workflow-instance'] = 'src/signature-pad.js';
options.entryPoints['flow-designer'] = 'src/flow-designer.js';

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
