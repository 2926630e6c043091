const N=1e7; let s=0; let t0=performance.now();
for(let i=0;i<N;i++){ const e=Math.exp(-(i%1000)*0.01); s+=Math.log1p(e);} console.log('exp+log1p', ((performance.now()-t0)/N*1e6).toFixed(1),'ns');
t0=performance.now(); for(let i=0;i<N;i++){ const e=Math.exp(-(i%1000)*0.01); s+=e;} console.log('exp', ((performance.now()-t0)/N*1e6).toFixed(1),'ns');
t0=performance.now(); for(let i=0;i<N;i++){ s+=Math.log1p((i%1000)*0.001);} console.log('log1p', ((performance.now()-t0)/N*1e6).toFixed(1),'ns');
t0=performance.now(); for(let i=0;i<N;i++){ s+=Math.log(1+(i%1000)*0.001);} console.log('log', ((performance.now()-t0)/N*1e6).toFixed(1),'ns');
console.log(s>0)
