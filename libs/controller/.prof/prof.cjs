const fs=require("fs");const f=fs.readdirSync(".").filter(x=>x.endsWith(".cpuprofile"))[0];
const p=JSON.parse(fs.readFileSync(f));
const byId=new Map(p.nodes.map(n=>[n.id,n]));const parent=new Map();
for(const n of p.nodes)for(const c of (n.children||[]))parent.set(c,n.id);
const incl=new Map();const self=new Map();const dt=p.timeDeltas;
for(let i=0;i<p.samples.length;i++){let id=p.samples[i];const seen=new Set();let first=true;while(id!==undefined){const n=byId.get(id);const k=n.callFrame.functionName+" "+n.callFrame.url.split("/").slice(-2).join("/")+":"+n.callFrame.lineNumber;if(first){self.set(k,(self.get(k)||0)+dt[i]);first=false;}if(!seen.has(k)){seen.add(k);incl.set(k,(incl.get(k)||0)+dt[i]);}id=parent.get(id);}}
console.log('--- inclusive');
[...incl].filter(([k])=>/testing\/|src\//.test(k)).sort((a,b)=>b[1]-a[1]).slice(0,30).forEach(([k,v])=>console.log((v/1000).toFixed(0).padStart(6),k));
console.log('--- self');
[...self].sort((a,b)=>b[1]-a[1]).slice(0,15).forEach(([k,v])=>console.log((v/1000).toFixed(0).padStart(6),k));
