import { build } from 'esbuild';
const r = await build({ entryPoints: ['functions/api.ts'], bundle: true, platform: 'node', format: 'esm', target: 'node20', minify: true, write: false, metafile: true, external: ['pg-native','bufferutil','utf-8-validate'] });
const out = Object.values(r.metafile.outputs)[0];
const by: Record<string, number> = {};
for (const [f, v] of Object.entries(out.inputs)) { const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(f); const k = m ? m[1] : f.split('/')[0]; by[k] = (by[k] ?? 0) + v.bytesInOutput; }
console.log(Object.entries(by).sort((a,b)=>b[1]-a[1]).slice(0,20).map(([k,v])=>`${k} ${(v/1024).toFixed(1)}`).join('\n'));
