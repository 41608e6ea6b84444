const fs=require('fs');const f=fs.readdirSync('/tmp/prof').map(x=>'/tmp/prof/'+x).sort((a,b)=>fs.statSync(b).size-fs.statSync(a).size)[0];
const p=JSON.parse(fs.readFileSync(f));const byId=new Map(p.nodes.map(n=>[n.id,n]));
const parent=new Map();for(const n of p.nodes)for(const c of n.children||[])parent.set(c,n.id);
const dt=p.timeDeltas;const incl=new Map();
p.samples.forEach((s,i)=>{const seen=new Set();for(let id=s;id!==undefined;id=parent.get(id)){const n=byId.get(id);const k=n.callFrame.functionName+' '+n.callFrame.url.split('/').slice(-2).join('/')+':'+n.callFrame.lineNumber;if(seen.has(k))continue;seen.add(k);incl.set(k,(incl.get(k)||0)+(dt[i]||0));}});
[...incl].filter(([k])=>/src\/|modules|storage/.test(k)||process.argv[2]).sort((a,b)=>b[1]-a[1]).slice(0,40).forEach(([k,t])=>console.log((t/1000|0)+'ms',k));
